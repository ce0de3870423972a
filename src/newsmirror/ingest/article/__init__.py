"""Generic article extraction: the main content of a page that no site rule covers.

trafilatura and readability each pick the article from the same cleaned page; they
vote on its text blocks, rules about kinds of page elements settle what they
disagree on and what they both wrongly keep, and the article is the page's own
markup cut down to the kept blocks. See generic.py.
"""

from .generic import drop_title_heading, extract_generic, page_title, parse_page

__all__ = ["drop_title_heading", "extract_generic", "page_title", "parse_page"]
