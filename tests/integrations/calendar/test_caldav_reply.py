"""A reply the caldav client already parsed as XML is read from that tree, not written out and
parsed again; its body is still there for whoever asks."""

from __future__ import annotations

import pytest
from lxml import etree

from integrations.providers import caldav
from integrations.providers.errors import Permanent

BODY = b"""<?xml version="1.0" encoding="utf-8"?>
<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:response><d:href>/cal/a.ics</d:href>
    <d:propstat><d:prop><d:getetag>"1"</d:getetag>
      <c:calendar-data>BEGIN:VCALENDAR&#13;
END:VCALENDAR&#13;
</c:calendar-data></d:prop>
      <d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
  <d:sync-token>http://radicale.org/ns/sync/abc</d:sync-token>
</d:multistatus>"""


class ParsedByTheClient:
    """What caldav's DAVResponse holds after parsing an XML body: the tree, no raw body."""

    status, headers, _raw_body = 207, {"Content-Type": "text/xml"}, b""
    tree = etree.fromstring(BODY, parser=caldav.XML_PARSER)


def test_a_parsed_reply_is_read_from_its_tree() -> None:
    reply = caldav._reply(ParsedByTheClient())
    assert reply.tree is ParsedByTheClient.tree
    found = reply.multistatus("fastmail")
    assert found.sync_token == "http://radicale.org/ns/sync/abc"
    [member] = found.resources
    assert (member.href, member.status) == ("/cal/a.ics", 200)
    assert member.text(f"{{{caldav.DAV}}}getetag") == '"1"'
    assert member.text(f"{{{caldav.CALDAV}}}calendar-data").startswith("BEGIN:VCALENDAR\r\n")
    # the same as reading the bytes
    assert caldav.parse_multistatus(BODY, "fastmail").sync_token == found.sync_token


def test_its_body_is_written_out_only_when_asked_for() -> None:
    reply = caldav._reply(ParsedByTheClient())
    assert reply._body == b""
    assert b"valid-sync-token" not in reply.body
    assert b"/cal/a.ics" in reply.body


def test_a_tree_that_is_no_multistatus_is_refused() -> None:
    class NotMultistatus(ParsedByTheClient):
        tree = etree.fromstring(b"<html><body>hello</body></html>")

    with pytest.raises(Permanent):
        caldav._reply(NotMultistatus()).multistatus("fastmail")


def test_a_streamed_multistatus_lets_each_response_go_once_read() -> None:
    class OwnTree(ParsedByTheClient):  # this test empties the tree it reads
        tree = etree.fromstring(BODY, parser=caldav.XML_PARSER)

    reply = caldav._reply(OwnTree())
    found = reply.streamed("fastmail")
    assert found.sync_token == "http://radicale.org/ns/sync/abc"  # known before reading

    [member] = list(found.resources)

    assert member.href == "/cal/a.ics"
    responses = reply.tree.findall(f"{{{caldav.DAV}}}response")
    assert [len(r) for r in responses] == [0]  # its subtree freed
