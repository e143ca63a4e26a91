"""deploy/bump_image_tag.py: the GitOps edit that proposes a new image tag, one line per image.

It must change exactly the tag of each image of the named repository, keep everything else as
written (comments included), leave a spec set that still validates, and fail when it finds nothing.
"""

from __future__ import annotations

import importlib.util
import shutil
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from reconciler.resources.registry import load_spec_set
from reconciler.resources.task_definition.model import RepositoryImage, TaskDefinitionSpec

ROOT = Path(__file__).resolve().parents[2]
SHA = "0123456789abcdef0123456789abcdef01234567"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bump_image_tag", ROOT / "deploy" / "bump_image_tag.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUMP = _script()


def test_the_example_stack_gets_the_new_tag_and_still_validates(tmp_path: Path) -> None:
    specs = tmp_path / "node-app"
    shutil.copytree(ROOT / "specs" / "node-app", specs)
    assert BUMP.main(["--repository", "node-app", "--tag", SHA, str(specs)]) == 0
    changed = []
    for original in sorted((ROOT / "specs" / "node-app").glob("*.yaml")):
        before = original.read_text().splitlines()
        after = (specs / original.name).read_text().splitlines()
        assert len(before) == len(after)
        changed += [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert changed and all(new.strip() == f'tag: "{SHA}"' for _, new in changed)
    spec_set, errors = load_spec_set([specs])
    assert spec_set is not None, errors
    images = [
        container.image
        for document in spec_set.of_kind("TaskDefinition")
        for container in document.spec_as(TaskDefinitionSpec).container_definitions
        if isinstance(container.image, RepositoryImage) and container.image.repository == "node-app"
    ]
    assert images and all(image.tag == SHA for image in images)


def test_only_tags_of_that_repositorys_images_change_and_comments_stay() -> None:
    text = textwrap.dedent(
        """\
        containerDefinitions:
          - name: web
            image:
              repository: node-app   # the app
              tag: latest  # bumped by CI
            essential: true
          - name: sidecar
            image: {repository: "node-app", tag: v1}
          - name: other
            image:
              tag: v2
              repository: other-app
          - name: pinned
            image:
              repository: node-app
              digest: sha256:aaaa
        note:
          repository: node-app
          tag: not-an-image
        """
    )
    bumped, found = BUMP.bump_text(text, repository="node-app", tag=SHA)
    assert found == 2
    assert bumped == text.replace("tag: latest  #", f'tag: "{SHA}"  #').replace("tag: v1}", f'tag: "{SHA}"}}')


def test_no_image_of_the_repository_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / "specs" / "node-app", tmp_path / "node-app")
    assert BUMP.main(["--repository", "no-such-repo", "--tag", SHA, str(tmp_path / "node-app")]) == 1
    assert "no image of repository no-such-repo" in capsys.readouterr().err


@pytest.mark.parametrize("tag", ["", "-leading-dash", "has space", "x" * 129])
def test_a_tag_docker_would_refuse_is_refused(tmp_path: Path, tag: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        BUMP.main(["--repository", "node-app", "--tag", tag, str(tmp_path)])
    assert exit_info.value.code == 2


IMAGES = textwrap.dedent(
    """\
    containerDefinitions:
      - image:
          repository: node-app
          tag: latest  # block form
      - image: {repository: node-app, tag: "v1" }
      - image:
          repository: node-app
          digest: sha256:aaaa
      - image:
          repository: other-app
          tag: v2
    """
)


def test_print_tags_lists_the_tags_that_images_of_the_repository_are_on() -> None:
    assert BUMP.image_tags(IMAGES, repository="node-app") == ["latest", "v1"]
    assert BUMP.image_tags(IMAGES, repository="other-app") == ["v2"]
    bumped, _ = BUMP.bump_text(IMAGES, repository="node-app", tag=SHA)
    assert BUMP.image_tags(bumped, repository="node-app") == [SHA, SHA]
    # The flow form keeps its spacing: only the value changed.
    assert f'tag: "{SHA}" }}' in bumped


def test_print_tags_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "task.yaml"
    spec.write_text(IMAGES)
    assert BUMP.main(["--repository", "node-app", "--print-tags", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["latest", "v1"]
    assert spec.read_text() == IMAGES
    assert BUMP.main(["--repository", "no-such-repo", "--print-tags", str(tmp_path)]) == 1


def test_print_tags_and_tag_are_one_or_the_other(tmp_path: Path) -> None:
    for arguments in ([], ["--tag", SHA, "--print-tags"]):
        with pytest.raises(SystemExit) as exit_info:
            BUMP.main(["--repository", "node-app", *arguments, str(tmp_path)])
        assert exit_info.value.code == 2
