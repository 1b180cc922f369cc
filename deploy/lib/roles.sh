# shellcheck shell=bash
# The roles the installer grants and the custom roles it keeps, each with its reason in
# deploy/README.md ("Roles granted"); keep the two in step. Used by install and uninstall.

# The controller's permissions on Cloud Run and Cloud Build, as one custom role on the project
# (the services it deploys do not exist yet). The predefined roles that hold them are broader:
# run.developer also deletes services and runs jobs, cloudbuild.builds.editor also cancels and
# retries builds. Each permission's reason is in deploy/README.md; keep the two in step.
CONTROLLER_PERMISSIONS=(
  run.services.get run.services.create run.services.update # GetService, CreateService, UpdateService
  run.operations.get                                       # GetOperation: waiting for a rollout
  cloudbuild.builds.create cloudbuild.builds.get           # CreateBuild, GetBuild
  cloudbuild.builds.list                                   # ListBuilds (finding a build by its tag)
)
# The API checks, once per instance, that its own service has no allUsers or
# allAuthenticatedUsers invoker (Cloud Run Admin v2 GetIamPolicy). A role of its own, granted on
# the API service only: in the project role it would read every service's policy, and the
# predefined roles holding it (run.viewer and up) read much more of the service.
API_POLICY_PERMISSIONS=(run.services.getIamPolicy)
# What the rollout checks of `verified` and `canary` policies call (issue 14), as a role of its
# own so its reasons travel with it: an HTTP check of a new revision's tag URL with the
# controller's ID token (run.routes.invoke), and that revision's request count and latency from
# Cloud Monitoring (ListTimeSeries). On the project: the services are created later, and Cloud Run
# is not among the services whose IAM Conditions see resource.name, so a condition naming them
# would never match. Narrower than the predefined roles: roles/run.invoker also runs jobs,
# roles/monitoring.viewer also reads alert policies, notification channels and dashboards.
ROLLOUT_PERMISSIONS=(run.routes.invoke monitoring.timeSeries.list)
ROLLOUT_DESCRIPTION='Lets the dropdeploy controller check a revision before it takes traffic: call its tag URL (run.routes.invoke) and read its request metrics (monitoring.timeSeries.list); deploy/README.md'
# What installers before the custom role granted the controller on the project instead.
LEGACY_CONTROLLER_ROLES=(roles/run.developer roles/cloudbuild.builds.editor)

# ensure_custom_role ID TITLE DESCRIPTION PERMISSION...: a project custom role with exactly
# these permissions; one an uninstall deleted is undeleted (its id stays taken for weeks).
ensure_custom_role() {
  local id=$1 title=$2 description=$3 want
  shift 3
  want=$(printf '%s\n' "$@" | LC_ALL=C sort | paste -sd, -)
  custom_role_state "$id"
  case $ROLE_STATE in
    absent)
      mutate create "custom role $id ($want)" gcloud iam roles create "$id" "--project=$PROJECT" \
        "--title=$title" "--description=$description" "--permissions=$want" --stage=GA --format=none
      return 0
      ;;
    deleted)
      mutate undelete "custom role $id (deleted by an uninstall)" gcloud iam roles undelete "$id" "--project=$PROJECT" --format=none
      ;;
  esac
  if [[ $ROLE_PERMISSIONS == "$want" ]]; then
    exists "custom role $id"
  else
    mutate update "custom role $id: permissions $want (were: ${ROLE_PERMISSIONS:-none})" \
      gcloud iam roles update "$id" "--project=$PROJECT" "--permissions=$want" --format=none
  fi
}

ensure_custom_roles() {
  ensure_custom_role "$ROLE_CONTROLLER" 'dropdeploy controller' \
    'What the dropdeploy controller calls on Cloud Run and Cloud Build (deploy/README.md)' "${CONTROLLER_PERMISSIONS[@]}"
  ensure_custom_role "$ROLE_API_POLICY" 'dropdeploy API policy check' \
    "Lets the dropdeploy API read its own service's IAM policy (deploy/README.md)" "${API_POLICY_PERMISSIONS[@]}"
  ensure_custom_role "$ROLE_ROLLOUT" 'dropdeploy rollout checks' "$ROLLOUT_DESCRIPTION" "${ROLLOUT_PERMISSIONS[@]}"
}

# The roles, each with its reason, are listed in deploy/README.md; keep the two in step.
ensure_roles() {
  local controller="serviceAccount:$SA_CONTROLLER" builder="serviceAccount:$SA_BUILDER" trigger="serviceAccount:$SA_TRIGGER"
  local role
  grant project "$PROJECT" roles/datastore.user "$controller"
  grant project "$PROJECT" "projects/$PROJECT/roles/$ROLE_CONTROLLER" "$controller"
  grant project "$PROJECT" "projects/$PROJECT/roles/$ROLE_ROLLOUT" "$controller"
  for role in "${LEGACY_CONTROLLER_ROLES[@]}"; do
    revoke_if_granted project "$PROJECT" "$role" "$controller"
  done
  grant service-account "$SA_BUILDER" roles/iam.serviceAccountUser "$controller"
  grant service-account "$SA_RUNTIME" roles/iam.serviceAccountUser "$controller"
  grant topic "$STATUS_TOPIC" roles/pubsub.publisher "$controller"
  grant bucket "gs://$BUCKET" roles/storage.objectViewer "$controller"

  grant bucket "gs://$BUCKET" roles/storage.objectViewer "$builder"
  grant repository "$REPOSITORY" roles/artifactregistry.writer "$builder"
  # No grant of its own for the build cache: its images live in the same repository.
  say "note: roles/artifactregistry.writer on repository $REPOSITORY also covers the build cache: builds pull and push SERVICE/cache:buildpacks and SERVICE/cache:dockerfile there (DROPDEPLOY_BUILD_CACHE=false: no cache images)"
  grant project "$PROJECT" roles/logging.logWriter "$builder"

  grant project "$PROJECT" roles/eventarc.eventReceiver "$trigger"

  local agent
  if ((DRY_RUN)); then
    agent="service-$PROJECT_NUMBER@gs-project-accounts.iam.gserviceaccount.com"
    say "check: Cloud Storage service agent (would run: $(shell_quote gcloud storage service-agent "--project=$PROJECT"))"
  else
    agent=$(query gcloud storage service-agent "--project=$PROJECT")
  fi
  grant project "$PROJECT" roles/pubsub.publisher "serviceAccount:$agent"
  grant topic "$DLQ_TOPIC" roles/pubsub.publisher "serviceAccount:$PUBSUB_AGENT"
}
