"""Parses every Swift source of the iOS package with tree-sitter's Swift
grammar (PyPI tree-sitter-language-pack 0.13.0, which bundles it) and
reports syntax errors. This checks syntax only: there is no Swift compiler
on Linux machines of this project, so types and the XCTest run need a Mac.
Ends with "N passed, N failed".

    .venv/bin/python scripts/check-swift.py
"""
import pathlib
import sys

from tree_sitter_language_pack import get_parser

root = pathlib.Path(__file__).resolve().parent.parent / "ios" / "EdgeHide"
parser = get_parser("swift")
passed = failed = 0


def problems(node, out):
    if node.type == "ERROR" or node.is_missing:
        out.append(node)
    for child in node.children:
        problems(child, out)


for path in sorted(root.rglob("*.swift")):
    tree = parser.parse(path.read_bytes())
    found = []
    problems(tree.root_node, found)
    if found:
        failed += 1
        for n in found[:5]:
            line, col = n.start_point
            kind = "missing " + n.type if n.is_missing else "syntax error"
            print(f"{path.relative_to(root)}:{line + 1}:{col + 1}: {kind}")
    else:
        passed += 1
        print(f"ok {path.relative_to(root)}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
