"""Ship ``templates/``, the example settings and the checks' word lists inside ``publisher``.

In the repository the templates stay where people edit them (``templates/``); a wheel has no
repository around it, so ``build_py`` copies them to ``publisher/templates`` (and the example
settings and ``config/checks/`` to ``publisher/config``), where ``publisher.settings`` finds
them when the repository copy is absent. Everything else about the build lives in
``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithTemplates(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the repository's own folders
        target = Path(self.build_lib) / "publisher"
        shutil.copytree(ROOT / "templates", target / "templates", dirs_exist_ok=True)
        (target / "config").mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "config" / "publisher.example.toml", target / "config")
        shutil.copy2(ROOT / "config" / "obligations.toml", target / "config")  # starter duties
        shutil.copy2(ROOT / "config" / "schedules.example.toml", target / "config")
        shutil.copytree(ROOT / "config" / "schedules", target / "config" / "schedules",
                        dirs_exist_ok=True)  # the example schedules' notice templates
        checks = target / "config" / "checks"
        shutil.copytree(ROOT / "config" / "checks", checks, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithTemplates})
