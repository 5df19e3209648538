"""The UI language: Chinese by default, English per user, and a complete, compiled catalogue."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from telesales.core.models import UserSettings

ROOT = Path(settings.BASE_DIR)
ZH_PO = ROOT / "telesales" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
LANGUAGE_SET = reverse("core:language_set")
MY_DAY = reverse("org:agent_home")
DASHBOARD = reverse("org:manager_dashboard")


def _compile_messages():
    """The ``scripts/compile_messages.py`` module (``scripts`` is not a package)."""
    path = ROOT / "scripts" / "compile_messages.py"
    spec = importlib.util.spec_from_file_location("compile_messages", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _reset_language():
    """Requests activate a language on this thread; leave the default for the next test."""
    yield
    translation.deactivate()


def _text(response) -> str:
    return response.content.decode()


def _language_of(username: str) -> str | None:
    return (
        UserSettings.objects.filter(user__username=username)
        .values_list("language", flat=True)
        .first()
    )


# --- (a) Chinese by default ------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("accept_language", ["", "en", "en-US,en;q=0.9"])
def test_login_page_is_chinese_whatever_the_browser_asks(client, accept_language):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=accept_language)
    assert response.status_code == 200
    text = _text(response)
    assert "登录" in text
    assert "用户名" in text and "密码" in text
    assert '<html lang="zh-hans">' in text
    assert "Sign in to your center" not in text
    assert response["Content-Language"] == "zh-hans"


def test_language_switcher_names_each_language_in_itself(client, client_for):
    login = _text(client.get(reverse("login")))
    assert ">English</button>" in login and ">简体中文</button>" in login
    assert "英语" not in login
    page = _text(client_for("agent1").get(MY_DAY))
    assert ">English</option>" in page and "英语" not in page


@pytest.mark.django_db
def test_wrong_password_message_is_chinese(client):
    response = client.post(reverse("login"), {"username": "nobody", "password": "wrong"})
    assert response.status_code == 200
    assert "用户名或密码错误" in _text(response)


# --- (b) switching to English, per user --------------------------------------------------------
def test_user_switches_to_english_and_it_persists_for_that_user_only(client_for):
    agent = client_for("agent1")
    assert "我的今日" in _text(agent.get(MY_DAY))

    response = agent.post(LANGUAGE_SET, {"language": "en", "next": MY_DAY})
    assert response.status_code == 302
    assert response["Location"] == MY_DAY
    assert _language_of("agent1") == "en"

    page = agent.get(MY_DAY)
    text = _text(page)
    assert "My day" in text and "Sign out" in text
    assert "我的今日" not in text
    assert '<html lang="en">' in text
    assert page["Content-Language"] == "en"

    # A new session (another browser, no language cookie) still gets English for agent1...
    again = client_for("agent1")
    assert not again.cookies.get(settings.LANGUAGE_COOKIE_NAME)
    text = _text(again.get(MY_DAY))
    assert "My day" in text and "我的今日" not in text

    # ...while another user still sees Chinese.
    other = client_for("agent2")
    text = _text(other.get(MY_DAY))
    assert "我的今日" in text and "My day" not in text
    assert _language_of("agent2") is None


def test_user_switches_back_to_chinese(client_for):
    agent = client_for("agent1")
    agent.post(LANGUAGE_SET, {"language": "en", "next": MY_DAY})
    agent.post(LANGUAGE_SET, {"language": "zh-hans", "next": MY_DAY})
    assert _language_of("agent1") == "zh-hans"
    assert "我的今日" in _text(client_for("agent1").get(MY_DAY))


def test_saved_choice_wins_over_the_language_cookie(client_for):
    agent = client_for("agent1")
    agent.post(LANGUAGE_SET, {"language": "en", "next": MY_DAY})
    agent.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "My day" in _text(agent.get(MY_DAY))


@pytest.mark.django_db
def test_anonymous_visitor_can_switch_the_login_page_to_english(client):
    response = client.post(LANGUAGE_SET, {"language": "en", "next": reverse("login")})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    text = _text(client.get(reverse("login")))
    assert "Sign in to your center" in text
    assert not UserSettings.objects.exists()


# --- (c) a bad language code -------------------------------------------------------------------
def test_unknown_language_gives_a_message_and_changes_nothing(client_for):
    agent = client_for("agent1")
    response = agent.post(LANGUAGE_SET, {"language": "xx", "next": MY_DAY}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(MY_DAY, 302)]
    text = _text(response)
    assert "不支持该语言。" in text
    assert "我的今日" in text
    assert _language_of("agent1") is None
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert "我的今日" in _text(agent.get(MY_DAY))


def test_unknown_language_keeps_an_earlier_choice(client_for):
    agent = client_for("agent1")
    agent.post(LANGUAGE_SET, {"language": "en", "next": MY_DAY})
    response = agent.post(LANGUAGE_SET, {"language": "fr", "next": MY_DAY}, follow=True)
    assert response.status_code == 200
    text = _text(response)
    assert "Unknown language." in text
    assert "My day" in text
    assert _language_of("agent1") == "en"


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["", "xx", "zh_Hans", "EN", "x" * 500])
def test_bad_language_codes_never_fail(client, language):
    response = client.post(LANGUAGE_SET, {"language": language, "next": reverse("login")})
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert not UserSettings.objects.exists()


@pytest.mark.django_db
def test_language_switch_does_not_redirect_off_site(client):
    response = client.post(LANGUAGE_SET, {"language": "en", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_language_switch_needs_post(client):
    assert client.get(LANGUAGE_SET, {"language": "en"}).status_code == 405


# --- (d) the catalogue is complete and compiled ------------------------------------------------
def test_every_message_is_translated():
    po = polib.pofile(str(ZH_PO))
    assert po.metadata["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"
    assert not po.metadata_is_fuzzy
    live = [e for e in po if not e.obsolete]
    assert len(live) > 200
    assert [e.msgid for e in live if e.fuzzy] == []
    assert [e.msgid for e in live if not e.translated()] == []


def test_compiled_catalogue_is_up_to_date():
    problems = _compile_messages().check()
    assert problems == [], "\n".join(problems)


def test_check_catches_untranslated_fuzzy_stale_and_missing(tmp_path):
    cm = _compile_messages()
    locale = tmp_path / "locale"
    target = locale / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(ZH_PO, target / "django.po")
    cm.compile_all(locale)
    assert cm.check(locale) == []

    po = polib.pofile(str(target / "django.po"))
    entries = [e for e in po if not e.msgid_plural]
    entries[0].msgstr = ""
    entries[1].flags.append("fuzzy")
    entries[2].msgstr = "没有占位符"
    entries[2].msgid = "Hello %(name)s"
    entries[2].flags.append("python-format")
    po.save(str(target / "django.po"))
    problems = "\n".join(cm.check(locale))
    assert "is not translated" in problems
    assert "is fuzzy" in problems
    assert "placeholders" in problems
    assert "out of date" in problems

    (target / "django.mo").unlink()
    assert any("is missing" in p for p in cm.check(locale))
    assert cm.main(["--check", "--locale-dir", str(locale)]) == 1


def test_translations_are_used_at_runtime():
    with translation.override("zh-hans"):
        assert translation.gettext("Sign in") == "登录"
        assert translation.pgettext("role", "Team lead") == "主管"
        assert translation.ngettext("%(n)s person", "%(n)s people", 5) % {"n": 5} == "共 5 人"
    with translation.override("en"):
        assert translation.gettext("Sign in") == "Sign in"


# --- (e) role home pages -----------------------------------------------------------------------
def test_manager_dashboard_is_chinese(client_for):
    response = client_for("manager").get(DASHBOARD)
    assert response.status_code == 200
    text = _text(response)
    assert "中心总览" in text
    assert "中心经理" in text  # the role badge
    assert "人力" in text and "工位利用率" in text
    assert "Center dashboard" not in text


def test_agent_home_is_chinese(client_for):
    response = client_for("agent1").get(MY_DAY)
    assert response.status_code == 200
    text = _text(response)
    assert "我的今日" in text
    assert "坐席" in text  # the role badge
    assert "今日外呼" in text
    assert "My day" not in text
