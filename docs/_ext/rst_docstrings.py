"""Griffe extension for the documentation site: satrlearn's docstrings, read as Markdown.

satrlearn's docstrings follow numpydoc, whose prose is reStructuredText; mkdocstrings renders
them as Markdown. Before a docstring is parsed, this extension rewrites the few reStructuredText
constructs the code uses:

* roles naming other objects (``:class:`Optimizer```, ``:meth:`~satrlearn.SATRSearch.fit```,
  ``:func:`save```) become optional cross-references: a link when the target is documented on
  the site, plain code otherwise, never a broken link. Targets resolve as in Sphinx's Python
  domain: an absolute dotted path, then relative to the enclosing classes and module of the
  docstring, then to the package; a leading ``~`` shows only the last component;
* the ``::`` that introduces an indented literal block becomes a colon (the indented block is a
  code block in Markdown too);
* in the description before the first numpydoc section, a definition list (a term, then its
  definition indented below it) becomes a Markdown definition list (the ``def_list``
  extension), so that the definition is not read as a code block.

A class whose docstring is assembled when its module runs (``__doc__ = HEAD + COMMON``, as the
estimators share the description of their common parameters) has no docstring in its source;
for those the extension imports the class and takes the docstring Python gives it.
"""

from __future__ import annotations

import importlib
import inspect
import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|attr|data|obj|exc|const):`(?P<target>[^`]+)`")
LITERAL_BLOCK = re.compile(r"(?<=\S)::(?=\n[ \t]*\n)")
SECTION = re.compile(r"^\S.*\n-{3,}[ \t]*$", re.MULTILINE)
LIST_ITEM = re.compile(r"^(?:[-*+]|\d+\.)\s")


def _lookup(scope, path):
    try:
        return scope[path]
    except (KeyError, ValueError, AttributeError, griffe.AliasResolutionError,
            griffe.CyclicAliasError):
        return None


def _definition_lists(text):
    """``term`` followed by an indented definition, as Markdown's ``term`` / ``:   definition``.

    Only in the description that precedes the first numpydoc section: the sections have their
    own indented layout, which the docstring parser reads.
    """
    section = SECTION.search(text)
    head, tail = (text[:section.start()], text[section.start():]) if section else (text, "")
    lines = head.split("\n")
    out = lines[:2]
    for i in range(2, len(lines)):  # line 0 is the summary
        before, term, body = lines[i - 2], lines[i - 1], lines[i]
        if (term.strip() and not term[0].isspace() and not LIST_ITEM.match(term)
                and not term.rstrip().endswith(":")
                and (not before.strip() or before[0].isspace())
                and body.startswith("    ") and body.strip() and not body.startswith("     ")):
            if before.strip():  # the term follows the previous definition: separate them
                out.insert(len(out) - 1, "")
            body = ":   " + body[4:]
        out.append(body)
    return "\n".join(out) + tail


class RstDocstrings(griffe.Extension):
    """Rewrite every docstring of the package once it is loaded."""

    def on_package(self, *, pkg, loader, **kwargs):
        self._pkg = pkg
        self._loader = loader
        self._walk(pkg, set())

    def _walk(self, obj, seen):
        if obj.path in seen:
            return
        seen.add(obj.path)
        self._runtime_docstring(obj)
        if obj.docstring is not None:
            text = ROLE.sub(lambda m: self._link(obj, m["target"]), obj.docstring.value)
            obj.docstring.value = _definition_lists(LITERAL_BLOCK.sub(":", text))
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(member, seen)

    def _runtime_docstring(self, obj):
        """The docstring of a class that assigns ``__doc__`` in its body, read at run time."""
        member = obj.members.get("__doc__")
        if not obj.is_class or obj.docstring is not None or member is None:
            return
        module = obj.module
        value = importlib.import_module(module.path)
        for part in obj.path[len(module.path) + 1:].split("."):
            value = getattr(value, part)
        if isinstance(getattr(value, "__doc__", None), str):
            obj.docstring = griffe.Docstring(
                inspect.cleandoc(value.__doc__), lineno=member.lineno,
                endlineno=member.endlineno, parent=obj, parser=self._loader.docstring_parser,
                parser_options=self._loader.docstring_options)

    def _resolve(self, obj, target):
        root = self._pkg.name
        if target == root:
            return self._pkg
        if target.startswith(root + "."):
            return _lookup(self._pkg, target[len(root) + 1:])
        scope = obj if (obj.is_class or obj.is_module) else obj.parent
        while scope is not None:
            found = _lookup(scope, target)
            if found is not None:
                return found
            scope = scope.parent
        return None

    def _link(self, obj, target):
        target = target.strip()
        short = target.startswith("~")
        target = target.lstrip("~")
        title = target.rsplit(".", 1)[-1] if short else target
        found = self._resolve(obj, target)
        if found is None:
            return f"`{title}`"
        ids = [found.path]
        try:
            if found.canonical_path != found.path:
                ids.append(found.canonical_path)
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            pass
        # autorefs tries the identifier, then the slug: the path as imported, then where the
        # object is defined
        slug = f' slug="{ids[1]}"' if len(ids) > 1 else ""
        return (f'<autoref identifier="{ids[0]}"{slug} optional>'
                f"<code>{title}</code></autoref>")
