"""Feed documents for tests, written the way real publishers write them."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def rfc822(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def rss_item(
    *,
    title: str,
    link: str | None,
    published: datetime | None = None,
    content_encoded: str | None = None,
    description: str | None = None,
    creator: str | None = None,
    guid: str | None = None,
) -> str:
    parts = [f"<title>{escape(title)}</title>"]
    if link is not None:
        parts.append(f"<link>{escape(link)}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{escape(guid)}</guid>')
    if published is not None:
        parts.append(f"<pubDate>{rfc822(published)}</pubDate>")
    if creator is not None:
        parts.append(f"<dc:creator>{escape(creator)}</dc:creator>")
    if description is not None:
        parts.append(f"<description>{cdata(description)}</description>")
    if content_encoded is not None:
        parts.append(f"<content:encoded>{cdata(content_encoded)}</content:encoded>")
    return "<item>" + "\n".join(parts) + "</item>"


def rss(
    items: list[str],
    *,
    title: str = "Test feed",
    link: str = "http://example.com/",
    encoding: str = "utf-8",
    extra: str = "",
) -> bytes:
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f"<channel><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<description>test</description>{extra}\n" + "\n".join(items) + "\n</channel></rss>\n"
    )
    return text.encode(encoding)


def youtube_entry(
    *, video_id: str, title: str, channel: str, published: datetime, description: str
) -> str:
    return f"""<entry>
  <id>yt:video:{video_id}</id>
  <yt:videoId>{video_id}</yt:videoId>
  <title>{escape(title)}</title>
  <link rel="alternate" href="https://www.youtube.com/watch?v={video_id}"/>
  <author><name>{escape(channel)}</name><uri>https://www.youtube.com/channel/UC123</uri></author>
  <published>{published.isoformat()}</published>
  <updated>{published.isoformat()}</updated>
  <media:group>
   <media:title>{escape(title)}</media:title>
   <media:content url="https://www.youtube.com/v/{video_id}?version=3" type="application/x-shockwave-flash" width="640" height="390"/>
   <media:thumbnail url="https://i4.ytimg.com/vi/{video_id}/hqdefault.jpg" width="480" height="360"/>
   <media:description>{escape(description)}</media:description>
  </media:group>
 </entry>"""


def youtube_feed(entries: list[str], *, channel: str = "channel") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" '
        'xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{escape(channel)}</title>\n" + "\n".join(entries) + "\n</feed>\n"
    ).encode()


def atom_entry(
    *, title: str, link: str, published: str, author: str | None, content: str, entry_id: str
) -> str:
    author_xml = f"<author><name>{escape(author)}</name></author>" if author else ""
    return f"""<entry><id>{escape(entry_id)}</id><published>{published}</published>
<updated>{published}</updated><title type="text">{escape(title)}</title>
<content type="html">{escape(content)}</content>
<link rel="alternate" type="text/html" href="{escape(link)}" title="{escape(title)}"/>
{author_xml}</entry>"""


def atom_feed(entries: list[str], *, title: str = "Atom feed") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>tag:test</id><title>{escape(title)}</title><updated>2023-01-30T00:00:00Z</updated>\n"
        + "\n".join(entries)
        + "\n</feed>\n"
    ).encode()
