"""LaTeX leftovers made readable for display, offsets kept (the stored text never changes).

Papers converted from LaTeX keep their markup: ``$\\mu$m``, ``$\\sim$3``,
``\\citep{smith2020}``, ``Fig.~3``, ``\\textit{HST}``, and converters' figure stubs such
as ``< g r a p h i c s >``. ``display_pieces`` cuts a text into pieces, each either
plain text (shown as stored) or a construct with what to show instead (``µm``,
``~3``, ``[smith2020]``, ``Fig. 3``, ``HST``, ``[figure]``), so that marks placed by
offsets into the stored text still land on the right words: a shown replacement is
marked as a whole when a mark touches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: LaTeX commands shown as one character (math and text mode)
SYMBOLS: dict[str, str] = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "µ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ",
    "Lambda": "Λ", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "sim": "~",
    "approx": "≈", "simeq": "≃", "propto": "∝", "times": "×", "pm": "±", "mp": "∓",
    "cdot": "·", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "lesssim": "≲",
    "gtrsim": "≳", "ll": "≪", "gg": "≫", "neq": "≠", "ne": "≠", "infty": "∞", "odot": "☉",
    "oplus": "⊕", "earth": "⊕", "sun": "☉", "circ": "°", "degree": "°", "prime": "′",
    "AA": "Å", "ell": "ℓ", "partial": "∂", "nabla": "∇", "sum": "Σ", "int": "∫",
    "rightarrow": "→", "to": "→", "leftarrow": "←", "log": "log", "ln": "ln", "exp": "exp",
    "sqrt": "√", "%": "%", "&": "&", "_": "_", "#": "#", "$": "$",
}  # fmt: skip
_SUPER = str.maketrans("0123456789+-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ")
_SUB = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_SUPER_OK = set("0123456789+-=()ni")
_SUB_OK = set("0123456789+-=()")

_WRAPPERS = r"(?:textit|textbf|textrm|texttt|textsc|textsl|emph|underline|mathrm|mathbf|" \
    r"mathit|mathcal|mathsf|mathtt|text|rm|it|bf|operatorname|boldsymbol|mbox|hbox)"  # fmt: skip
_CONSTRUCT = re.compile(
    r"(?P<graphics><\s?g\s?r\s?a\s?p\s?h\s?i\s?c\s?s\s?>)"
    r"|(?P<math>\$\$?(?P<inner>[^$]{0,300}?)\$\$?)"
    r"|(?P<env>\\(?:begin|end)\{[^{}]{0,40}\}|\\label\{[^{}]{0,80}\})"
    r"|(?P<cite>\\(?:cite[a-z]*|nocite)\*?(?:\[[^\]]{0,80}\]){0,2}\{(?P<keys>[^{}]{0,300})\})"
    r"|(?P<ref>\\(?:ref|eqref|autoref|cref|Cref)\{[^{}]{0,80}\})"
    rf"|(?P<wrap>\\{_WRAPPERS}\{{(?P<wrapped>[^{{}}]{{0,300}})\}})"
    r"|(?P<oldfont>\{\\(?P<font>sc|rm|it|bf|em|tt|sl|sf)\s+(?P<styled>[^{}]{0,300})\})"
    r"|(?P<symbol>\\(?P<name>[A-Za-z]+|[%&_#$])(?![A-Za-z]))"
    r"|(?P<space>\\[,;:! ])"
    r"|(?P<tie>(?<=\S)~(?=\S))"
    r"|(?P<quotes>``|'')"
    r"|(?P<dash>---|(?<=[\d\s])--(?=[\d\s]))"
)


#: the constructs, in the order of ``_CONSTRUCT``'s alternatives
_KINDS = ("graphics", "math", "env", "cite", "ref", "wrap", "oldfont", "symbol", "space", "tie",
          "quotes", "dash")  # fmt: skip


@dataclass(frozen=True)
class Piece:
    """``text[start:end]``, shown as stored (``shown`` None) or as ``shown``."""

    start: int
    end: int
    shown: str | None = None


def display_pieces(text: str) -> list[Piece]:
    """``text`` cut into plain pieces and readable replacements, covering it in order."""
    pieces: list[Piece] = []
    pos = 0
    for match in _CONSTRUCT.finditer(text):
        shown = _shown(match)
        if shown is None:
            continue
        if match.start() > pos:
            pieces.append(Piece(pos, match.start()))
        pieces.append(Piece(match.start(), match.end(), shown))
        pos = match.end()
    if pos < len(text):
        pieces.append(Piece(pos, len(text)))
    return pieces


def display_text(text: str) -> str:
    """``text`` as it is shown (for tests and plain-text displays)."""
    return "".join(
        text[p.start : p.end] if p.shown is None else p.shown for p in display_pieces(text)
    )


def _shown(match: re.Match[str]) -> str | None:
    kind = next(k for k in _KINDS if match.group(k) is not None)
    if kind == "graphics":
        return "[figure]"
    if kind == "math":
        return math_text(match.group("inner"))
    if kind == "env":
        return ""
    if kind == "cite":
        keys = [k.strip() for k in match.group("keys").split(",") if k.strip()]
        return "[" + ", ".join(keys) + "]"
    if kind == "ref":
        return "[ref]"
    if kind == "wrap":
        return display_text(match.group("wrapped"))
    if kind == "oldfont":  # {\sc ii}: small capitals, as in ionisation states (Fe II)
        styled = display_text(match.group("styled"))
        return styled.upper() if match.group("font") == "sc" else styled
    if kind == "symbol":
        return SYMBOLS.get(match.group("name"))  # an unknown command stays as written
    if kind == "space":
        return "" if match.group() == "\\!" else " "
    if kind == "tie":
        return " "
    if kind == "quotes":
        return "“" if match.group() == "``" else "”"
    return "—" if match.group() == "---" else "–"


def math_text(inner: str) -> str:
    """Inline math as plain text: ``\\mu`` -> µ, ``10^{-3}`` -> 10⁻³, ``M_\\odot`` -> M☉."""
    out = re.sub(rf"\\{_WRAPPERS}\{{([^{{}}]*)\}}", r"\1", inner)
    out = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/\2", out)
    out = re.sub(r"\\(?:left|right)\b|\\[,;:!]", " ", out)
    out = re.sub(r"\\([A-Za-z]+)", lambda m: SYMBOLS.get(m.group(1), m.group(1)), out)
    out = re.sub(r"\^\{([^{}]*)\}|\^(\S)", lambda m: _script(m, _SUPER, _SUPER_OK, "^"), out)
    out = re.sub(r"_\{([^{}]*)\}|_(\S)", lambda m: _script(m, _SUB, _SUB_OK, "_"), out)
    out = out.replace("{", "").replace("}", "").replace("\\", "")
    return re.sub(r"\s+", " ", out).strip() or " "


def _script(match: re.Match[str], table: dict[int, int], allowed: set[str], sign: str) -> str:
    body = match.group(1) if match.group(1) is not None else match.group(2)
    if body and set(body) <= allowed:
        return body.translate(table)
    return body if sign == "_" else f"^{body}"
