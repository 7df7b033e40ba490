"""The AWS template (deploy/optiserve.yaml), read as plain YAML with CloudFormation's tags:
the security properties the issue asks for, checked without an AWS account. cfn-lint and
checkov run over the same file in CI (.ci/run)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import config

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "optiserve.yaml"
SECRET_NAMES = {"SECRET_KEY", "AUDIT_KEY", "TOTP_ENCRYPTION_KEY", "DATABASE_PASSWORD", "MAIL_URL"}
# Actions AWS offers no resource-level permission for: the only ones allowed on "*".
STAR_RESOURCE_ACTIONS = {"ecr:GetAuthorizationToken", "ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"}
# The audit chain's key arrives with the audit branch (issue 11, keyed chain); the template
# already injects it. Empty this set once that branch is merged.
SETTINGS_OF_OTHER_BRANCHES: set[str] = set()


class CloudFormationLoader(yaml.SafeLoader):
    """``!Ref X`` → ``{"Ref": "X"}``, ``!GetAtt A.B`` → ``{"Fn::GetAtt": ["A", "B"]}``,
    ``!Sub …`` → ``{"Fn::Sub": …}`` and so on."""


def _construct(loader, tag_suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)  # noqa: S506 (SafeLoader subclass)


def resources(template, kind: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def role_statements(role: dict) -> list[dict]:
    statements = []
    for policy in role["Properties"].get("Policies", []):
        statements += policy["PolicyDocument"]["Statement"]
    return statements


def test_template_is_plain_cloudformation_without_yaml_aliases():
    text = TEMPLATE.read_text()
    # CloudFormation refuses YAML anchors and aliases ("YAML aliases are not allowed").
    assert not re.search(r"(:|-)\s+[&*][A-Za-z]", text)
    assert "<<:" not in text


def test_no_nat_gateway_and_private_subnets_have_no_way_out(template):
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::EC2::NatGateway" not in kinds and "AWS::EC2::EIP" not in kinds
    routes = resources(template, "AWS::EC2::Route").values()
    assert [r["Properties"]["RouteTableId"] for r in routes] == [{"Ref": "PublicRouteTable"}]
    endpoints = resources(template, "AWS::EC2::VPCEndpoint").values()
    services = {e["Properties"]["ServiceName"]["Fn::Sub"].split("}.", 1)[1] for e in endpoints}
    assert {"s3", "ecr.api", "ecr.dkr", "logs", "secretsmanager", "ecs"} <= services


def ingress_rules(template, group: str) -> list[dict]:
    rules = list(template["Resources"][group]["Properties"].get("SecurityGroupIngress", []))
    for resource in resources(template, "AWS::EC2::SecurityGroupIngress").values():
        if resource["Properties"]["GroupId"] == {"Ref": group}:
            rules.append(resource["Properties"])
    return rules


def test_only_the_load_balancer_reaches_the_web_tasks(template):
    rules = ingress_rules(template, "WebSecurityGroup")
    assert rules, "the web tasks must be reachable from the ALB"
    for rule in rules:
        assert rule.get("SourceSecurityGroupId") == {"Ref": "AlbSecurityGroup"}
        assert "CidrIp" not in rule and "CidrIpv6" not in rule
        assert (rule["FromPort"], rule["ToPort"]) == (8000, 8000)
    assert ingress_rules(template, "WorkerSecurityGroup") == []


def test_only_the_tasks_reach_the_database_and_redis(template):
    for group, port in (("DatabaseSecurityGroup", 5432), ("CacheSecurityGroup", 6379)):
        rules = ingress_rules(template, group)
        assert {rule.get("SourceSecurityGroupId", {}).get("Ref") for rule in rules} == {"WebSecurityGroup", "WorkerSecurityGroup"}
        assert all(rule["FromPort"] == rule["ToPort"] == port for rule in rules)


def test_database_is_private_encrypted_and_backed_up(template):
    instances = resources(template, "AWS::RDS::DBInstance")
    clusters = resources(template, "AWS::RDS::DBCluster")
    assert instances and clusters
    for instance in instances.values():
        assert instance["Properties"]["PubliclyAccessible"] is False
    for database in [template["Resources"]["DatabaseInstance"], *clusters.values()]:
        properties = database["Properties"]
        assert properties["StorageEncrypted"] is True
        assert properties["BackupRetentionPeriod"] == 7
        assert properties["DeletionProtection"] == {"Fn::If": ["IsProduction", True, False]}
        assert "{{resolve:secretsmanager:" in properties["MasterUserPassword"]["Fn::Sub"]
    cluster = template["Resources"]["DatabaseCluster"]["Properties"]
    assert cluster["ServerlessV2ScalingConfiguration"]["MinCapacity"] == 0
    cache = template["Resources"]["Cache"]["Properties"]
    assert cache["TransitEncryptionEnabled"] is True and cache["AtRestEncryptionEnabled"] is True


def test_bucket_blocks_public_access_encrypts_and_keeps_seven_years(template):
    bucket = template["Resources"]["Bucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["ObjectLockEnabled"] is True
    [lifecycle] = bucket["LifecycleConfiguration"]["Rules"]
    assert lifecycle["Transitions"] == [{"StorageClass": "GLACIER_IR", "TransitionInDays": 365}]
    assert lifecycle["ExpirationInDays"] >= 7 * 365
    statements = template["Resources"]["BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["TlsOnly"]["Effect"] == "Deny"
    anchors = by_sid["AuditAnchorsAreWrittenUnderComplianceLock"]
    assert anchors["Effect"] == "Deny" and anchors["Resource"] == {"Fn::Sub": "${Bucket.Arn}/audit-anchors/*"}


def test_roles_name_their_actions_and_use_star_resources_only_where_aws_requires(template):
    roles = resources(template, "AWS::IAM::Role")
    assert {"TaskExecutionRole", "WebTaskRole", "WorkerTaskRole", "DeployRole"} <= set(roles)
    for name, role in roles.items():
        for statement in role_statements(role):
            actions = as_list(statement["Action"])
            assert not any("*" in action for action in actions), (name, actions)
            if "*" in as_list(statement["Resource"]):
                assert set(actions) <= STAR_RESOURCE_ACTIONS, (name, actions)
    web_actions = {a for s in role_statements(roles["WebTaskRole"]) for a in as_list(s["Action"])}
    assert not any(a.startswith(("iam:Create", "iam:Put", "s3:PutBucket", "s3:DeleteBucket")) for a in web_actions)
    web_s3 = [s for s in role_statements(roles["WebTaskRole"]) if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    assert [s["Resource"] for s in web_s3] == [{"Fn::Sub": "${Bucket.Arn}/files/*"}]  # its prefix only


def task_containers(template) -> dict[str, dict]:
    return {name: r["Properties"]["ContainerDefinitions"][0]
            for name, r in resources(template, "AWS::ECS::TaskDefinition").items()}


def test_every_secret_comes_from_secrets_manager_never_plain_environment(template):
    secret_resources = set(resources(template, "AWS::SecretsManager::Secret"))
    containers = task_containers(template)
    assert set(containers) == {"WebTaskDefinition", "WorkerTaskDefinition", "MigrateTaskDefinition"}
    for name, container in containers.items():
        secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
        assert set(secrets) == SECRET_NAMES, name
        for value in secrets.values():
            reference = value.get("Ref") or value["Fn::Sub"].split("}")[0].lstrip("${")
            assert reference in secret_resources
        for variable in container["Environment"]:
            assert not re.search(r"KEY$|PASSWORD|SECRET|TOKEN", variable["Name"]) or variable["Name"] == "S3_SSE_KMS_KEY_ID"
        database_url = next(v["Value"] for v in container["Environment"] if v["Name"] == "DATABASE_URL")
        assert database_url["Fn::Sub"][0].startswith("postgresql://optiserve@")  # no password in the URL
        assert database_url["Fn::Sub"][0].endswith("?sslmode=require")  # TLS to the database
    environments = [c["Environment"] for c in containers.values()]
    assert all(environment == environments[0] for environment in environments)  # one configuration


def test_task_settings_are_settings_the_app_reads(template):
    source = (ROOT / "config.py").read_text()
    web = task_containers(template)["WebTaskDefinition"]
    names = [v["Name"] for v in web["Environment"]] + [s["Name"] for s in web["Secrets"]]
    for name in names:
        if name in {"AWS_DEFAULT_REGION", "MPLCONFIGDIR"} | SETTINGS_OF_OTHER_BRANCHES:
            continue  # read by boto3 / matplotlib, or not merged yet
        assert f'"{name}"' in source, f"config.py does not read {name}"
    environment = {v["Name"]: v["Value"] for v in web["Environment"]}
    assert environment["TRUSTED_PROXY_COUNT"] == "1"
    assert environment["WORKER_MODE"] == "ecs-run-task"
    assert environment["ECS_WORKER_TASK_DEFINITION"] == {"Fn::Sub": "optiserve-${EnvironmentName}-worker"}
    # The worker the app starts lands where the web service runs, with a public IP exactly when
    # the service's tasks get one (public subnets have no endpoints to reach ECR through).
    network = template["Resources"]["WebService"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == {"Fn::If": ["UsePrivateEndpoints", "DISABLED", "ENABLED"]}
    assert environment["ECS_WORKER_PUBLIC_IP"] == {"Fn::If": ["UsePrivateEndpoints", "false", "true"]}
    subnets = environment["ECS_WORKER_SUBNETS"]["Fn::If"]
    assert [s["Fn::Sub"] for s in subnets[1:]] == [
        ",".join("${%s}" % r["Ref"] for r in choice) for choice in network["Subnets"]["Fn::If"][1:]]
    worker = template["Resources"]["WorkerTaskDefinition"]["Properties"]
    assert worker["Family"] == environment["ECS_WORKER_TASK_DEFINITION"]
    assert worker["ContainerDefinitions"][0]["Command"][-2:] == ["worker", "--burst"]
    assert config.Config.WORKER_MODE == "external"  # the local default is unchanged


def test_web_is_https_with_redirect_and_ready_check(template):
    listeners = {r["Properties"]["Port"]: r["Properties"] for r in resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()}
    assert set(listeners) == {80, 443}
    [redirect] = listeners[80]["DefaultActions"]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert listeners[443]["Protocol"] == "HTTPS"
    assert listeners[443]["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    target_group = template["Resources"]["WebTargetGroup"]["Properties"]
    assert target_group["HealthCheckPath"] == {"Fn::If": ["UseAurora", "/health", "/ready"]}
    service = template["Resources"]["WebService"]["Properties"]
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert template["Resources"]["WebAcl"]["Condition"] == "UseWaf"


def test_monthly_batch_runs_the_reports_command_on_the_11th(template, app):
    schedule = template["Resources"]["MonthlyReportsSchedule"]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 6 11 * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Asia/Tokyo"
    import json

    [override] = json.loads(schedule["Target"]["Input"])["containerOverrides"]
    assert "optiserve reports run --month" in override["command"][-1]
    # The command exists in the app's CLI.
    group = app.cli.get_command(None, "optiserve")
    run = group.get_command(None, "reports").get_command(None, "run")
    assert "--month" in {opt for param in run.params for opt in param.opts}
    migrate = template["Resources"]["MigrateTaskDefinition"]["Properties"]
    assert "TaskRoleArn" not in migrate  # no AWS API at all
    assert "db upgrade" in migrate["ContainerDefinitions"][0]["Command"][-1]


def test_logs_are_kept_and_alarms_reach_the_topic(template):
    for group in resources(template, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert {"Web5xxRateAlarm", "FailedJobsAlarm", "DatabaseCpuAlarm", "DatabaseFreeStorageAlarm"} <= set(alarms)
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
