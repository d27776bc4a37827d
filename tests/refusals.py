"""The shared check that a call is refused in the course's 'NAME = VALUE: why; what to do' wording."""

import pytest


def refused(error: type[Exception], name: str, call, *also: str) -> str:
    """`call` raises `error` whose message starts 'NAME = ', gives a remedy after '; ' and holds each of `also`."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"{name} = ") and "; " in message, message
    for text in also:
        assert text in message, (text, message)
    return message
