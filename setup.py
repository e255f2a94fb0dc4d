"""Build hook: the wheel carries compiled translation catalogues (.mo), built from the .po files.

Everything else about the package is declared in pyproject.toml.  A checkout compiles its
catalogues with ``make translations``; a wheel gets them here, so an installed site speaks Chinese
without any step of the operator's (Indico does the same).
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogues(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads the checkout, compiled by `make translations`
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po_path in sorted(Path("learning", "translations").glob("*/LC_MESSAGES/*.po")):
            target = Path(self.build_lib) / po_path.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as po_file:
                catalogue = read_po(po_file, locale=po_path.parts[2])
            with target.open("wb") as mo_file:
                write_mo(mo_file, catalogue, use_fuzzy=False)


setup(cmdclass={"build_py": BuildWithCatalogues})
