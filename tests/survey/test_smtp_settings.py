"""SMTP_URL and BASE_URL are read and checked at start-up, never echoing a password."""

import pytest

from survey.config import ConfigError, _base_url, _smtp_url
from survey.delivery.smtp import SmtpConfigError, SmtpSettings


def test_a_full_smtp_url_is_read():
    settings = SmtpSettings.from_url("smtp://mailer:p%40ss@mail.example.org:2525?from=a@b.org")
    assert (settings.scheme, settings.host, settings.port) == ("smtp", "mail.example.org", 2525)
    assert (settings.username, settings.password, settings.sender) == ("mailer", "p@ss", "a@b.org")


def test_default_ports_follow_the_scheme():
    assert SmtpSettings.from_url("smtps://mail.example.org").port == 465
    assert SmtpSettings.from_url("smtp://mail.example.org").port == 587


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://mail.example.org", "scheme 'http'"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.org:99999", "smtp://user:password@host:587"),
        ("smtp://mail.example.org?from=nobody", "from='nobody'"),
    ],
)
def test_a_bad_smtp_url_names_the_problem(url, named):
    with pytest.raises(SmtpConfigError, match=named):
        SmtpSettings.from_url(url)


def test_the_password_is_never_in_a_message_or_repr():
    settings = SmtpSettings.from_url("smtp://mailer:topsecret@mail.example.org")
    assert "topsecret" not in repr(settings)
    with pytest.raises(ConfigError) as error:
        _smtp_url("ftp://mailer:topsecret@mail.example.org")
    assert "topsecret" not in str(error.value)


def test_base_url_is_checked_and_loses_its_trailing_slash():
    assert _base_url(None) == "http://127.0.0.1:5000"
    assert _base_url("https://survey.example.org/") == "https://survey.example.org"
    with pytest.raises(ConfigError, match="BASE_URL='survey.example.org'"):
        _base_url("survey.example.org")
