"""Which registry version serves each A/B variant of a model.

A variant is bound to a *reference*: a version name (``v2``) or an alias the registry
resolves (today ``latest``, the highest published version; an experiment's ``champion``
and ``challenger`` aliases are resolved the same way). A variant with no binding serves
:data:`LATEST`, so a worker with no bindings serves every variant the newest version, and
a variant bound to an alias follows it when it moves (on a model update), while one bound
to a version name stays on that version.

Examples
--------
>>> b = VersionBinding.parse("churn:A=v1, churn:B=latest")
>>> b.ref("churn", "A"), b.ref("churn", "B"), b.ref("churn", "C"), b.ref("fraud", "A")
('v1', 'latest', 'latest', 'latest')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

__all__ = ["LATEST", "VersionBinding"]

#: The alias of a model's highest published version, the default of every variant.
LATEST = "latest"


@dataclass(frozen=True)
class VersionBinding:
    """The version reference served per (model, variant); unbound pairs serve ``default``.

    Parameters
    ----------
    refs
        ``{(model, variant): reference}``, a reference being a version name or an alias.
    default
        The reference of every pair not in ``refs``.
    """

    refs: Mapping[tuple[str, str], str] = field(default_factory=dict)
    default: str = LATEST

    @classmethod
    def parse(cls, text: str) -> VersionBinding:
        """Read ``'MODEL:VARIANT=REF,...'``; a ValueError names the part that is wrong."""
        refs: dict[tuple[str, str], str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            pair, eq, ref = part.partition("=")
            model, colon, variant = pair.partition(":")
            model, variant, ref = model.strip(), variant.strip(), ref.strip()
            if not (eq and colon and model and variant and ref):
                raise ValueError(f"expected MODEL:VARIANT=VERSION (e.g. 'churn:B=v2'), "
                                 f"got {part!r}")
            if (model, variant) in refs:
                raise ValueError(f"{model}:{variant} is bound twice")
            refs[(model, variant)] = ref
        return cls(refs)

    def ref(self, model: str, variant: str) -> str:
        """The reference ``variant`` of ``model`` is served."""
        return self.refs.get((model, variant), self.default)

    def __iter__(self) -> Iterator[tuple[str, str, str]]:
        """The explicit bindings as ``(model, variant, reference)``."""
        return ((m, v, r) for (m, v), r in self.refs.items())
