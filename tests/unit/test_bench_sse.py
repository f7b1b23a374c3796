"""The bench's SSE subscribers read the API's stream format back."""

from __future__ import annotations

from services.api.live import sse
from services.bench.subscribers import EventStreamParser, SseComment, SseEvent


def parse(text: str) -> list[SseEvent | SseComment]:
    parser = EventStreamParser()
    parsed = [parser.line(line) for line in text.split("\n")]
    return [p for p in parsed if p is not None]


def test_the_api_s_events_and_comments_are_read_back_as_sent() -> None:
    stream = (
        sse.retry(2000)
        + sse.comment("subscribed")
        + sse.event("change", {"person_key": "ab12", "gender": "女"}, "0:5,1:3")
        + sse.comment("heartbeat")
        + sse.event("delete", {"person_key": "cd34"}, "0:6,1:3")
    )

    assert parse(stream) == [
        SseComment("subscribed"),
        SseEvent("change", '{"person_key":"ab12","gender":"女"}'),
        SseComment("heartbeat"),
        SseEvent("delete", '{"person_key":"cd34"}'),
    ]


def test_data_over_several_lines_is_one_event_and_an_event_without_data_is_none() -> None:
    assert parse("event: change\ndata: {\ndata: }\n\nevent: change\nid: 7\n\n") == [
        SseEvent("change", "{\n}")
    ]
