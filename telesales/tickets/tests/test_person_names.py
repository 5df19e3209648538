"""A ticket's history names people, not their logins (QA: "· renewal" on every line)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from telesales.tickets.services import ticket_respond


def test_ticket_history_and_opener_show_the_persons_name_not_the_login(
    world, open_ticket, page_for
):
    world.ops.name = "欧阳敏"
    world.ops.save(update_fields=["name"])
    ticket = open_ticket(owner=world.ops)
    ticket_respond(ticket=ticket, actor=world.ops.user, note="已致电客户说明情况。")

    html = page_for(world.boss).get(f"/tickets/{ticket.pk}/").content.decode()

    assert html.count("· 欧阳敏") >= 3  # opened by, and both history lines
    assert "· ops<" not in html and "· ops\n" not in html and "· ops " not in html


def test_a_login_with_no_person_is_shown_by_its_login(world, open_ticket, page_for):
    admin = get_user_model().objects.create_superuser("siteadmin", password="x-123-pw-long")
    ticket = open_ticket(owner=world.ops)
    ticket_respond(ticket=ticket, actor=admin, note="后台处理。")

    html = page_for(world.boss).get(f"/tickets/{ticket.pk}/").content.decode()

    assert "· siteadmin" in html
