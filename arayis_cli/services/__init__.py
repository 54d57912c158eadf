"""The workflow as plain functions: keyword-only ``session=``, ``now=``, ``actor=``.

No Rich and no CLI here; errors are the domain exceptions of :mod:`arayis_cli.errors`.
"""
