#!/usr/bin/env python3
"""An independent link checker for a static site (Python's own HTML parser, not syswalk's code): every internal
<a href>, <link href> and <img src> names a file of the folder, and every #fragment an id (or name) in that file.
Prints each broken link; exits 1 if there is one, 0 if none (and says how many links it checked)."""
import os
import sys
import urllib.parse
from html.parser import HTMLParser


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("id", "name") if tag == "a" else ("id",):
            if a.get(k):
                self.ids.add(a[k])
        for k in ("href", "src"):
            if a.get(k) is not None and tag in ("a", "link", "img", "script"):
                self.links.append((tag, a[k]))


def main(root):
    pages = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.endswith(".html"):
                p = os.path.relpath(os.path.join(dirpath, f), root)
                parser = Page()
                with open(os.path.join(root, p), encoding="utf-8") as fh:
                    parser.feed(fh.read())
                pages[p] = parser
    if "index.html" not in pages:
        print(f"{root}: no index.html")
        return 1
    broken, checked = [], 0
    for p, page in sorted(pages.items()):
        for tag, href in page.links:
            u = urllib.parse.urlsplit(href)
            if u.scheme in ("http", "https", "mailto"):
                continue
            checked += 1
            if u.scheme or u.netloc:
                broken.append(f"{p}: <{tag}> {href}: not a relative link")
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(p), urllib.parse.unquote(u.path))) if u.path else p
            if not os.path.isfile(os.path.join(root, target)):
                broken.append(f"{p}: <{tag}> {href}: no file {target}")
            elif u.fragment and (target not in pages or urllib.parse.unquote(u.fragment) not in pages[target].ids):
                broken.append(f"{p}: <{tag}> {href}: no id {u.fragment} in {target}")
    for b in broken:
        print(b)
    print(f"linkcheck: {len(pages)} pages, {checked} internal links, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: linkcheck.py SITE_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
