"""Parameter merging: query string, form body and multipart parts, as SMS clients send them
(tolerance rules 1, 2 and 5). Multipart bodies come from real encoders (urllib3's, as
`requests` sends them, and httpx's) as well as by hand."""

from __future__ import annotations

import contextlib

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from urllib3.filepost import encode_multipart_formdata

from garrison.webservices.params import FilePart, ParamError, Params, parse, parse_multipart


def test_query_and_form_body_are_merged_with_repeated_keys_kept() -> None:
    params = parse(
        b"ip=10.0.0.1&ip=10.0.0.2",
        "application/x-www-form-urlencoded",
        b"policy=Default+Response&timeout=60&ip=10.0.0.3",
    )
    assert params.get_all("ip") == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert params.get("policy") == "Default Response"
    assert params.single("timeout") == "60"
    assert "timeout" in params and "nope" not in params


def test_a_json_content_type_does_not_make_the_body_parameters() -> None:
    params = parse(b"ip=1.2.3.4", "application/json", b'{"ip": "9.9.9.9"}')
    assert params.get_all("ip") == ["1.2.3.4"]
    assert params.body == b'{"ip": "9.9.9.9"}'


def test_a_raw_body_is_kept_and_not_parsed() -> None:
    params = parse(b"", "text/plain", b"1,2,3\n4")
    assert params.pairs == () and params.body == b"1,2,3\n4"
    assert parse(b"", "", b"a=b").pairs == ()  # no content type: not a form


def test_content_type_is_matched_without_case_or_parameters() -> None:
    params = parse(b"", "Application/X-WWW-Form-Urlencoded; charset=UTF-8", b"a=1")
    assert params.get("a") == "1"


def test_single_takes_a_repeated_same_value_but_refuses_different_ones() -> None:
    params = Params(pairs=(("ip", "1.2.3.4"), ("ip", " 1.2.3.4 "), ("ip", ""), ("x", "")))
    assert params.single("ip") == "1.2.3.4"
    assert params.single("x") is None  # blank is absent
    assert params.single("y") is None
    with pytest.raises(ParamError, match="ip is given 2 times with different values"):
        Params(pairs=(("ip", "1.2.3.4"), ("ip", "5.6.7.8"))).single("ip")


def test_without_drops_credentials() -> None:
    params = parse(b"smsuser=a&smspass=b&ip=1", "", b"")
    assert params.without("smsuser", "smspass") == [("ip", "1")]


@pytest.mark.parametrize("field", ["file", "name", "requestFile", "uploadfile", "anything"])
def test_the_first_file_part_under_any_field_name(field: str) -> None:
    body, content_type = encode_multipart_formdata(
        [
            ("type", "IPv4"),
            (field, ("first.csv", b"1.1.1.1,tag\r\n", "text/csv")),
            ("other", ("second.bin", b"\x00\x01", "application/octet-stream")),
        ]
    )
    params = parse(b"smsuser=u", content_type, body)
    assert params.get("type") == "IPv4" and params.get("smsuser") == "u"
    assert params.first_file() == FilePart(field, "first.csv", "text/csv", b"1.1.1.1,tag\r\n")
    assert [f.filename for f in params.files] == ["first.csv", "second.bin"]


def test_multipart_from_httpx_and_an_empty_browser_file_input() -> None:
    request = httpx.Request(
        "POST",
        "https://x/",
        data={"policy": "p", "empty": ""},
        files=[("blank", ("", b"")), ("requestFile", ("e.txt", b"1\n2\n"))],
    )
    request.read()
    params = parse(b"", request.headers["content-type"], request.content)
    assert params.get("policy") == "p" and params.get("empty") == ""
    first = params.first_file()
    assert first is not None and (first.field, first.data) == ("requestFile", b"1\n2\n")


def test_multipart_with_bare_lf_line_ends_and_a_preamble() -> None:
    body = (
        b'preamble\n--B\nContent-Disposition: form-data; name="a"\n\nvalue\n'
        b'--B\nContent-Disposition: form-data; name="f"; filename="x"\n\nline\n--B--\n'
    )
    fields, files = parse_multipart(body, b"B")
    assert fields == [("a", "value")]
    assert [(f.field, f.data) for f in files] == [("f", b"line")]


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("multipart/form-data", b"--B\r\n", "without a boundary in its Content-Type"),
        ("multipart/form-data; boundary=B", b"no delimiter here", "without its boundary"),
        (
            "multipart/form-data; boundary=B",
            b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\ntruncated',
            "without its closing boundary",
        ),
    ],
)
def test_malformed_multipart_is_refused_with_a_reason(
    content_type: str, body: bytes, message: str
) -> None:
    with pytest.raises(ParamError, match=message):
        parse(b"", content_type, body)


names = st.text(alphabet=st.characters(codec="utf-8", exclude_characters='"\r\n\\%'), min_size=1)
values = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r"))


@given(
    st.lists(st.tuples(names, values), max_size=5),
    st.lists(st.tuples(names, st.binary(max_size=300)), max_size=3),
)
def test_every_field_and_file_comes_back_byte_for_byte(
    fields: list[tuple[str, str]], files: list[tuple[str, bytes]]
) -> None:
    parts: list[tuple[str, object]] = list(fields)
    parts += [(name, ("upload.bin", data, "application/octet-stream")) for name, data in files]
    body, content_type = encode_multipart_formdata(parts)
    params = parse(b"", content_type, body)
    assert list(params.pairs) == fields
    assert [(f.field, f.data) for f in params.files] == files


@given(st.binary(max_size=2000), st.text(max_size=40))
def test_garbage_never_raises_anything_but_param_error(body: bytes, boundary: str) -> None:
    content_type = f'multipart/form-data; boundary="{boundary}"'
    with contextlib.suppress(ParamError):
        parse(b"", content_type, body)
    parse(body, "application/x-www-form-urlencoded", body)  # a form never fails
