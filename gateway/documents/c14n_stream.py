"""Canonical XML written while the document is parsed: what a signature's digest covers, without the tree.

A 100,000-person claim parsed whole costs many times its size (docs/benchmarks.md); its digest does not need
the tree. `CanonicalWriter` takes lxml's parse events (start, end) and writes the same bytes lxml's
`tostring(method="c14n")` writes for the whole document (exclusive c14n, or C14N 1.0, both without comments),
in pieces, to a sink (a hash's update), leaving out one enveloped subtree (the ds:Signature) as the
enveloped-signature transform does. tests/documents/test_c14n_stream.py holds it byte for byte to lxml.

An element's text is complete once the next event arrives (its first child starts, or it ends), and so is a
tail: so each text is written on the event after, and a caller may drop an element from the tree once the
event after its end has been written.

What it does not render exactly it refuses (`Unsupported`) rather than guess: an attribute whose namespace has
several prefixes in scope, a PrefixList naming the default namespace. The caller then falls back to the tree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lxml import etree

_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTRIBUTE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"}
)
XML_NS = "http://www.w3.org/XML/1998/namespace"
_FLUSH_EVERY = 16384  # pieces joined before they go to the sink: one encode per ~100 KB, not per tag
_FLUSH_WHOLE = 128  # as many, once subtrees (~1 KB each) are written whole


class Unsupported(ValueError):
    """The document has something this writer does not render exactly: canonicalise the tree instead."""


def escape_text(text: str) -> str:
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.translate(_TEXT)
    return text


def escape_attribute(value: str) -> str:
    return value.translate(_ATTRIBUTE)


def _split(tag: str) -> tuple[str, str]:
    if tag[0] == "{":
        uri, local = tag[1:].split("}", 1)
        return uri, local
    return "", tag


class CanonicalWriter:
    """Feed it every start and end event of one document, in order; `close()` at the end.

    `exclusive`: exclusive c14n (with `prefixes`, its InclusiveNamespaces PrefixList) or else C14N 1.0. `skip(element)` says, on an element's start, whether to leave that
    subtree out (its tail stays, as the enveloped-signature transform leaves it).
    """

    def __init__(
        self,
        sink: Callable[[bytes], object],
        *,
        exclusive: bool = True,
        prefixes: Sequence[str] | None = None,
        skip: Callable[[etree._Element], bool] | None = None,
        whole: Callable[[etree._Element], bool] | None = None,
    ) -> None:
        self._sink = sink
        self._exclusive = exclusive
        self._prefixes = tuple(prefixes or ())
        if "#default" in self._prefixes or "" in self._prefixes:
            # libxml2 (what lxml and libxmlsec1 digest with) leaves the default namespace out even when it is
            # listed: rather than copy that, such a document goes to the tree.
            raise Unsupported("an InclusiveNamespaces PrefixList naming the default namespace")
        self._skip = skip
        self._parts: list[str] = []
        # The element whose text (or, once ended, tail) is written on the next event, when it is complete.
        self._pending_node: etree._Element | None = None
        self._pending_text = True
        self._names: dict[tuple[str, str | None], tuple[str, str, str, str, str]] = {}
        self._closing: list[str] = []
        # Exclusive c14n without a PrefixList: an element without attributes in a namespace already in force
        # declares nothing.
        self._simple = exclusive and not self._prefixes
        self._skipping = 0  # depth inside a skipped subtree (or one written whole at its end)
        # Subtrees written whole by lxml at their end (C speed, for records), only where that is exact: see
        # `_whole_start`. The start tag they take here, and the one lxml gives them on their own. Exclusive c14n
        # without a PrefixList only: lxml's C14N 1.0 of a subtree undeclares the default namespace below it.
        self._whole = whole if self._simple else None
        self._whole_tag: tuple[str, str] | None = None
        self._rendered: list[dict[str, str]] = [{"": ""}]  # namespaces in force, per output ancestor

    # --- events ---

    def start(self, element: etree._Element) -> None:
        if self._skipping:
            self._skipping += 1
            return
        parts = self._parts
        node = self._pending_node
        if node is not None:
            text = node.text if self._pending_text else node.tail
            if text:
                parts.append(escape_text(text))
        if self._skip is not None and self._skip(element):
            self._skipping = 1
            self._pending_node = None
            return
        if self._whole is not None and self._whole(element) and self._whole_start(element):
            return
        tag = element.tag
        prefix = element.prefix
        names = self._names.get((tag, prefix))
        if names is None:
            if not isinstance(tag, str):
                raise Unsupported("only elements are rendered (comments and instructions are not expected here)")
            uri, local = _split(tag)
            qname = f"{prefix}:{local}" if prefix else local
            names = self._names[(tag, prefix)] = (prefix or "", uri, qname, f"<{qname}>", f"</{qname}>")
        prefix, uri, qname, opened, closed = names
        rendered = self._rendered[-1]
        attributes = element.items()
        if not attributes and self._simple and rendered.get(prefix) == uri:
            parts.append(opened)  # the common case: nothing to declare, nothing to sort
            self._rendered.append(rendered)
        else:
            tag, inside = self._start_tag(element, qname, prefix, uri, attributes, rendered)
            parts.append(tag)
            self._rendered.append(inside)
        self._closing.append(closed)
        self._pending_node, self._pending_text = element, True

    def end(self, element: etree._Element) -> None:
        if self._skipping:
            self._skipping -= 1
            if not self._skipping:
                if self._whole_tag is not None:
                    self._whole_end(element)
                self._pending_node, self._pending_text = element, False
            return
        parts = self._parts
        node = self._pending_node
        if node is not None:
            text = node.text if self._pending_text else node.tail
            if text:
                parts.append(escape_text(text))
        parts.append(self._closing.pop())
        self._rendered.pop()
        self._pending_node, self._pending_text = element, False
        if len(parts) >= _FLUSH_EVERY:
            self._flush()

    def close(self) -> None:
        """After the root's end: what follows the root (its tail) is not part of the canonical form."""
        self._pending_node = None
        self._flush()

    # --- the work ---

    def _whole_start(self, element: etree._Element) -> bool:
        """Take `element`'s subtree to write it whole at its end, as lxml canonicalises it on its own, with its
        start tag as it is here; False when that might not be exact (it is then written event by event).

        On its own, exclusive c14n declares on the subtree's root the namespaces it uses, and below it only
        those it does not; if nothing below declares anything (checked at the end: no "xmlns" after that start
        tag), every element below uses a namespace in force at the root, in the document as on its own, and
        only the root's start tag differs. A prefixed root under a default namespace is left out: an element
        below without namespace would need xmlns="" in the document and not on its own.
        """
        tag = element.tag
        if not isinstance(tag, str):
            return False
        uri, local = _split(tag)
        prefix = element.prefix or ""
        rendered = self._rendered[-1]
        if prefix and rendered.get("", ""):
            return False
        qname = f"{prefix}:{local}" if prefix else local
        attributes = element.items()
        here, _ = self._start_tag(element, qname, prefix, uri, attributes, rendered)
        alone, _ = self._start_tag(element, qname, prefix, uri, attributes, {"": ""})
        self._whole_tag = (here, alone)
        self._skipping = 1
        self._pending_node = None  # written already
        return True

    def _whole_end(self, element: etree._Element) -> None:
        here, alone = self._whole_tag
        self._whole_tag = None
        canonical = etree.tostring(element, method="c14n", exclusive=True, with_comments=False)
        start = alone.encode("utf-8")
        if not canonical.startswith(start) or canonical.find(b"xmlns", len(start)) >= 0:
            # A namespace declared below (or only the word in a text): written event by event after all.
            self._walk(element)
            return
        self._parts.append(here)
        self._parts.append(canonical[len(start):].decode("utf-8"))
        if len(self._parts) >= _FLUSH_WHOLE:
            self._flush()

    def _walk(self, element: etree._Element) -> None:
        """Write `element`'s subtree, still whole in the tree, event by event as if it were being parsed."""
        whole, self._whole = self._whole, None
        self._skipping = 0
        try:
            for event, node in etree.iterwalk(element, events=("start", "end")):
                (self.start if event == "start" else self.end)(node)
        finally:
            self._whole = whole

    def _flush(self) -> None:
        if self._parts:
            self._sink("".join(self._parts).encode("utf-8"))
            self._parts.clear()

    def _start_tag(
        self, element, qname: str, prefix: str, uri: str, attributes, rendered: dict[str, str]
    ) -> tuple[str, dict[str, str]]:
        """The start tag of `element` where `rendered` namespaces are in force, and those in force inside it."""
        in_scope = None
        declare: dict[str, str] = {}
        named: list[tuple[str, str, str, str]] = []  # (uri, local, qualified name, value)
        for name, value in attributes:
            a_uri, a_local = _split(name)
            if not a_uri:
                named.append(("", a_local, a_local, value))
                continue
            if a_uri == XML_NS:
                named.append((a_uri, a_local, f"xml:{a_local}", value))
                continue
            if in_scope is None:
                in_scope = element.nsmap
            prefixes = [p for p, u in in_scope.items() if u == a_uri and p]
            if len(prefixes) != 1:
                raise Unsupported("an attribute's namespace has no single prefix in scope")
            named.append((a_uri, a_local, f"{prefixes[0]}:{a_local}", value))
            if self._exclusive:
                declare[prefixes[0]] = a_uri
        if self._exclusive:
            declare[prefix] = uri
            if self._prefixes:
                in_scope = element.nsmap if in_scope is None else in_scope
                for listed in self._prefixes:
                    if listed in in_scope:
                        declare[listed] = in_scope[listed]
        else:
            in_scope = element.nsmap if in_scope is None else in_scope
            declare = {(p or ""): u for p, u in in_scope.items()}
            declare.setdefault("", "")  # no default in scope: undeclare one an ancestor rendered
        out = {p: u for p, u in declare.items() if rendered.get(p, "") != u}
        if out:
            rendered = {**rendered, **out}
        pieces = [f"<{qname}"]
        for p in sorted(out):
            pieces.append(f' xmlns:{p}="{escape_attribute(out[p])}"' if p else f' xmlns="{escape_attribute(out[p])}"')
        for _, _, name, value in sorted(named, key=lambda a: (a[0], a[1])):
            pieces.append(f' {name}="{escape_attribute(value)}"')
        pieces.append(">")
        return "".join(pieces), rendered
