"""Activate the language a signed-in user chose; anonymous users get the default or cookie."""

from __future__ import annotations

from django.utils import translation

from telesales.core.models import UserSettings


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = (
                UserSettings.objects.filter(user_id=user.pk)
                .values_list("language", flat=True)
                .first()
            )
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
