"""Recording reviewer link edits (shared by the pair page and the HTTP API).

Like label decisions, the reviewer is the logged-in principal. An edit is refused with
a message when no batch has classified the pair (404), when the value is not a link
(an instrument the registry does not know, a malformed id or DOI: 400), or when it does
not fit the pair (adding a link it has, removing one it has not, links of a pair whose
final label is neither science nor instrumentation: 409).
"""

from __future__ import annotations

from amc.domain.models import LinkKind
from amc.domain.reviews import LinkAction, LinkEdit, UnknownPairError
from amc.jobs.submit import registry_for
from amc.links.reviewed import (
    LinkEditError,
    LinkValueError,
    PairLinks,
    canonical_value,
)
from amc.registry.entries import Telescope
from amc.settings import Settings
from amc.store import Store
from amc.web.auth import Principal
from amc.web.review import pair_links


def edit_link(
    store: Store,
    settings: Settings,
    pair: tuple[str, str],
    link: tuple[LinkKind, str],
    action: LinkAction,
    principal: Principal,
    note: str = "",
) -> LinkEdit:
    """Add a link (``kind``, ``value`` as typed; made canonical) to the pair (bibcode,
    telescope), or remove one of its final links."""
    registry = registry_for(settings)
    bibcode, telescope = pair[0], registry.check(pair[1])
    ids = store.latest_result_ids([(bibcode, telescope)])
    if (bibcode, telescope) not in ids:
        raise UnknownPairError(
            f"no batch has classified {bibcode} with {telescope}: links are edited for "
            "pairs of a batch; check the bibcode and telescope"
        )
    links = pair_links(store, store.get_result(ids[(bibcode, telescope)]))
    if not links.applies:
        raise LinkEditError(
            f"{bibcode} {telescope} is not labelled science or instrumentation, so it has no "
            "links; correct its label first"
        )
    kind, value = link
    if action == "add" and (kind, value.strip()) in {(r.kind, r.value) for r in links.removed}:
        value = value.strip()  # a removed model link (a grant too) comes back as it was
    elif action == "add":
        value = canonical_value(registry.get(telescope), kind, value)
    else:
        value = _final_value(links, kind, value, registry.telescopes.get(telescope))
    if action == "add" and links.has(kind, value):
        raise LinkEditError(f"{bibcode} {telescope} already has the {kind} link {value}")
    if action == "remove" and not links.has(kind, value):
        raise LinkEditError(f"{bibcode} {telescope} has no {kind} link {value} to remove"
                            f"{_listing(links, kind)}")  # fmt: skip
    return store.record_link_edit((bibcode, telescope), kind, value, action,
                                  principal.reviewer, note)  # fmt: skip


def _final_value(
    links: PairLinks, kind: LinkKind, written: str, telescope: Telescope | None
) -> str:
    """The final link a removal names: as written, else as the extractor writes it."""
    value = written.strip()
    if links.has(kind, value) or telescope is None:
        return value
    try:
        return canonical_value(telescope, kind, value)
    except LinkValueError:
        return value


def _listing(links: PairLinks, kind: LinkKind) -> str:
    values = links.values(kind)
    return f" (its {kind} links: {', '.join(values)})" if values else ""
