#!/usr/bin/env bash
# Release an image that CI has pushed: migrations first (one-off task), then the web service
# (rolling, with the circuit breaker's automatic rollback); the worker, the monthly batch and
# the daily sweep run the worker family's newest revision from their next start on.
# Needs: AWS CLI v2, python3; the deploy role of deploy/optiserve.yaml (or an operator's).
#
#   deploy/release.sh production 3f2c1ab          # environment, image tag
set -euo pipefail
ENVIRONMENT=${1:?environment (staging|production)}
TAG=${2:?image tag}
STACK=optiserve-$ENVIRONMENT
CLUSTER=optiserve-$ENVIRONMENT

output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
REPOSITORY=$(output RepositoryUri)

# A new revision of a task definition family: the current one with the new image.
register() {
  aws ecs describe-task-definition --task-definition "optiserve-$ENVIRONMENT-$1" --query taskDefinition \
    | python3 -c '
import json, sys
definition = json.load(sys.stdin)
for key in ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
            "registeredAt", "registeredBy", "deregisteredAt"):
    definition.pop(key, None)
definition["containerDefinitions"][0]["image"] = sys.argv[1]
print(json.dumps(definition))' "$REPOSITORY:$TAG" > "/tmp/optiserve-$1.json"
  aws ecs register-task-definition --cli-input-json "file:///tmp/optiserve-$1.json" \
    --query taskDefinition.taskDefinitionArn --output text
}

echo "== migrations with $TAG"
MIGRATE=$(register migrate)
TASK=$(aws ecs run-task --cluster "$CLUSTER" --task-definition "$MIGRATE" --launch-type FARGATE \
  --network-configuration "awsvpcConfiguration={subnets=[$(output TaskSubnets)],securityGroups=[$(output WorkerSecurityGroup)],assignPublicIp=$(output TaskAssignPublicIp)}" \
  --query 'tasks[0].taskArn' --output text)
aws ecs wait tasks-stopped --cluster "$CLUSTER" --tasks "$TASK"
CODE=$(aws ecs describe-tasks --cluster "$CLUSTER" --tasks "$TASK" --query 'tasks[0].containers[0].exitCode' --output text)
if [ "$CODE" != "0" ]; then
  echo "migrations failed (exit $CODE): see the log group /optiserve/$ENVIRONMENT/migrate; nothing deployed" >&2
  exit 1
fi

echo "== worker and web with $TAG"
register worker >/dev/null
WEB=$(register web)
aws ecs update-service --cluster "$CLUSTER" --service web --task-definition "$WEB" >/dev/null
aws ecs wait services-stable --cluster "$CLUSTER" --services web
echo "released $TAG to $ENVIRONMENT ($WEB)"
