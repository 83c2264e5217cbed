"""OCPI wire models: :mod:`.common` (both versions), :mod:`.v221`, :mod:`.v230` (canonical)."""
