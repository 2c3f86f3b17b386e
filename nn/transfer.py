"""Transfer learning helpers: freeze what was learnt, replace the head, train only what is left.

    body = pretrained[:-1]                          # a Sequential slice shares the trained layers
    nn.freeze(body)                                 # every parameter: requires_grad_(False)
    old_head = nn.replace_head(pretrained, nn.Linear(32, 5))
    optimizer = optim.SGD(nn.trainable_parameters(pretrained), lr=0.1)

Fine-tuning instead of freezing: keep everything trainable and give the pretrained layers a smaller
learning rate with parameter groups, as in PyTorch::

    optim.Adam([{"params": pretrained[:-1].parameters(), "lr": 1e-4},
                {"params": pretrained[-1].parameters()}], lr=1e-2)

Frozen parameters take no part in the graph: a frozen layer whose input needs no gradient makes no
graph node at all, so the forward through a frozen body costs what inference costs.
Frozen BatchNorm layers still update their running statistics in training mode (as in PyTorch); call
``.eval()`` on them to keep those fixed too.
"""
from .module import Module, Sequential


def _check_module(op, module):
    if not isinstance(module, Module):
        raise TypeError(f"{op}: expected an nn.Module, got {type(module).__name__}")


def freeze(module):
    """Stop every parameter of ``module`` (and its submodules) from requiring gradients. Returns the module."""
    _check_module("freeze", module)
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def unfreeze(module):
    """Make every parameter of ``module`` require gradients again. Returns the module."""
    _check_module("unfreeze", module)
    for parameter in module.parameters():
        parameter.requires_grad_(True)
    return module


def trainable_parameters(module):
    """The parameters of ``module`` that require gradients: what an optimizer should get after freezing."""
    _check_module("trainable_parameters", module)
    return [p for p in module.parameters() if p.requires_grad]


def replace_head(model, new_head, name=None):
    """Put ``new_head`` in place of the model's output layer and return the old one.

    ``name``: the dotted name of the submodule to replace (e.g. "classifier" or "layers.3"); by default
    the last layer of a ``Sequential``. The new head takes the old one's place (its position in the
    parameter order and its name in ``state_dict``).
    """
    op = "replace_head"
    _check_module(op, model)
    _check_module(op, new_head)
    if name is None:
        if not isinstance(model, Sequential) or len(model) == 0:
            raise ValueError(f"{op}: pass name= (the dotted name of the layer to replace) for a "
                             f"{type(model).__name__}; only a non-empty Sequential has an obvious last layer")
        name = model.named_children()[-1][0]
    if not isinstance(name, str):
        raise TypeError(f"{op}: name must be the dotted name of a submodule (a str, e.g. 'classifier' or "
                        f"'layers.3'), got {name!r}")
    *path, attribute = name.split(".")
    owner = model
    for part in path:
        owner = dict(owner.named_children()).get(part)
        if owner is None:
            break
    children = dict(owner.named_children()) if owner is not None else {}
    if attribute not in children:
        names = [n for n, _ in model.named_modules() if n]
        raise KeyError(f"{op}: {type(model).__name__} has no submodule {name!r}; its submodules: {names}")
    setattr(owner, attribute, new_head)
    return children[attribute]
