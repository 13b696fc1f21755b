"""`lambdalite build --snapstart` (bundle/jobs.py over lambdalite.sam.snapstart): the template
gets SnapStart on published versions and an alias; what AWS refuses is refused, naming the rule;
a template's own SnapStart goes through the same rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lambdalite.bundle.jobs import jobs_for
from lambdalite.bundle.options import BuildOptions
from lambdalite.errors import OptionError
from lambdalite.sam.errors import TemplateError
from lambdalite.sam.model import SamFunction
from lambdalite.sam.parse import read_template
from lambdalite.sam.snapstart import refusals
from lambdalite.sam.write import to_yaml

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Digits:
    Type: AWS::Serverless::Function
    Metadata: {LambdaliteModelDir: ./model}
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      AutoPublishAlias: prod
      SnapStart: {ApplyOn: PublishedVersions}
"""


def build(tmp_path: Path, **options: object) -> SamFunction:
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)
    (job,) = jobs_for(BuildOptions(model_dir=model, out_dir=tmp_path / "out",
                                   **options))  # type: ignore[arg-type]
    return job.function


def test_snapstart_writes_apply_on_published_versions_and_an_alias(tmp_path: Path):
    props = yaml.safe_load(to_yaml([build(tmp_path, snapstart=True)]))[
        "Resources"]["InferenceFunction"]["Properties"]
    assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert props["AutoPublishAlias"] == "live"
    assert "ProvisionedConcurrencyConfig" not in props
    plain = yaml.safe_load(to_yaml([build(tmp_path)]))["Resources"]["InferenceFunction"]
    assert "SnapStart" not in plain["Properties"] and "AutoPublishAlias" not in plain["Properties"]


def test_snapstart_never_falls_back_to_an_image(tmp_path: Path):
    model = tmp_path / "model"
    model.mkdir()
    (job,) = jobs_for(BuildOptions(model_dir=model, snapstart=True, image_fallback=True))
    assert job.options.image_fallback is False and job.options.package_type == "zip"


@pytest.mark.parametrize(("options", "rule"), [
    ({"package_type": "image"}, "does not support container images"),
    ({"runtime": "python3.11"}, "needs python3.12 or later, not python3.11"),
    ({"provisioned_concurrency": 2}, "cannot be combined with provisioned concurrency"),
])
def test_what_aws_refuses_is_refused_naming_the_rule(tmp_path: Path, options: dict,
                                                    rule: str):
    with pytest.raises(OptionError) as caught:
        build(tmp_path, snapstart=True, **options)
    message = caught.value.message
    assert rule in message and message.startswith("snapstart: ")   # the CLI: --snapstart
    assert "docs.aws.amazon.com/lambda/latest/dg/snapstart.html" in message


def project(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "model").mkdir(exist_ok=True)
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE + extra)
    return path


def test_a_templates_snapstart_and_alias_are_kept(tmp_path: Path):
    (job,) = jobs_for(BuildOptions(template=project(tmp_path), out_dir=tmp_path / "out"))
    fn = job.function
    assert (fn.snap_start, fn.auto_publish_alias, fn.provisioned_concurrency) == (
        "PublishedVersions", "prod", None)
    assert not any(n.startswith(("SnapStart", "AutoPublishAlias")) for n in job.notes)


@pytest.mark.parametrize(("extra", "rule"), [
    ("      EphemeralStorage: {Size: 1024}\n",
     "ephemeral storage up to 512 MB, not 1024 MB"),
    ("      FileSystemConfigs:\n        - {Arn: arn:aws:efs:x, LocalMountPath: /mnt/m}\n",
     "cannot be combined with Amazon EFS"),
])
def test_a_templates_efs_or_large_ephemeral_storage_is_refused(tmp_path: Path, extra: str,
                                                              rule: str):
    path = project(tmp_path, extra)
    with pytest.raises(OptionError, match=rule):
        jobs_for(BuildOptions(template=path, out_dir=tmp_path / "out"))
    # The local engine runs only what AWS would deploy: the same rule, at its line.
    from lambdalite.local.specs import read_template as local_template

    with pytest.raises(TemplateError, match=rf"template.yaml:\d+: Digits: .*{rule}"):
        local_template(path)


def test_ephemeral_storage_of_512_mb_is_fine_and_written_back(tmp_path: Path):
    path = project(tmp_path, "      EphemeralStorage: {Size: 512}\n")
    fn = read_template(path).functions["Digits"]
    assert (fn.ephemeral_storage_mb, refusals(fn)) == (512, [])
    assert yaml.safe_load(to_yaml([fn]))["Resources"]["Digits"]["Properties"][
        "EphemeralStorage"] == {"Size": 512}
