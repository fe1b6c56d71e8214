"""The languages params may name: those the embedded benchmark generates and those the real datasets have.

They live here, below the data code that uses them, so that params are checked against them on loading.
"""

# The embedded benchmark's languages (their grammars and lexicons: data/lexicon.py), in the order that seeds each
# language's generators.
LANGUAGE_CODES: tuple[str, ...] = ("en", "de", "fr", "ar", "hi", "sw")

# Paper-scale language codes (ISO 639-1) and the names that distributions use for them.
LANGUAGE_NAMES = {
    "en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian", "pt": "portuguese",
    "ru": "russian", "zh": "chinese", "ja": "japanese", "ko": "korean", "ar": "arabic", "hi": "hindi",
    "sw": "swahili", "bg": "bulgarian", "el": "greek", "th": "thai", "tr": "turkish", "ur": "urdu", "vi": "vietnamese",
}
