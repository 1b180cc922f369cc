#!/usr/bin/env bash
# Installs dropdeploy into a Google Cloud project, or removes it (--uninstall).
# Idempotent: every resource is checked first and created only if missing.
# See deploy/README.md for the walkthrough and the roles it grants.
set -euo pipefail

# Only shell builtins until gcloud is found, so a missing gcloud gets a clear message.
DEPLOY_DIR=$(cd "${BASH_SOURCE[0]%/*}" && pwd)
SOURCE_DIR=$(cd "$DEPLOY_DIR/.." && pwd)
# shellcheck source=deploy/lib/common.sh
source "$DEPLOY_DIR/lib/common.sh"
# shellcheck source=deploy/lib/validate.sh
source "$DEPLOY_DIR/lib/validate.sh"
# shellcheck source=deploy/lib/roles.sh
source "$DEPLOY_DIR/lib/roles.sh"
# shellcheck source=deploy/lib/install-steps.sh
source "$DEPLOY_DIR/lib/install-steps.sh"
# shellcheck source=deploy/lib/uninstall-steps.sh
source "$DEPLOY_DIR/lib/uninstall-steps.sh"

usage() {
  cat <<'EOF'
Usage: deploy/install.sh --project PROJECT --region REGION [options]

Installs dropdeploy (three Cloud Run functions, their Eventarc triggers, the Cloud Scheduler
job that runs the reconciler every minute, topics, bucket, repository, Firestore database,
a custom role and service accounts) into PROJECT. Run it again at any time: it
creates only what is missing and says "nothing to do" when everything is there.

  --project ID              Google Cloud project (required)
  --region REGION           region of the functions, bucket, repository, triggers and the
                            scheduler job (required)
  --prefix NAME             prefix of every resource name (default: dropdeploy)
  --bucket NAME             source bucket (default: PREFIX-sources-PROJECT)
  --repository ID           Artifact Registry repository (default: PREFIX)
  --status-topic ID         status topic (default: PREFIX-status)
  --invoker MEMBER          may call the HTTP API, e.g. user:ana@example.com,
                            group:ops@example.com, serviceAccount:ci@P.iam.gserviceaccount.com
                            (repeatable)
  --firestore-location LOC  location of a new Firestore database: a region, or a multi-region
                            such as eur3 or nam5 (default: REGION)
  --max-delivery-attempts N deliveries before an event goes to the dead-letter topic (5-100, default 10)
  --redeploy                deploy the functions again even if they exist (new code or settings)
  --dry-run                 print every command, run none (not even the checks)
  --uninstall               remove what the installer created; keeps the bucket, the
                            repository and the runtime service account
  --purge                   with --uninstall: delete those too
  -h, --help                this text

Every name is checked against the naming rules of the service that holds it before anything
runs; a problem names the flag and the rule.

Optional controller settings (src/config.ts) are passed to the functions when set in the
environment: DROPDEPLOY_PREFIX (object prefix), DROPDEPLOY_BUILD_MACHINE_TYPE,
DROPDEPLOY_BUILD_TIMEOUT_SECONDS, DROPDEPLOY_BUILD_CACHE (false: builds use no cache images),
DROPDEPLOY_SERVICE_MEMORY, _CPU, _MAX_INSTANCES, _INGRESS,
DROPDEPLOY_FIRESTORE_DATABASE (also the database the installer creates),
DROPDEPLOY_FIRESTORE_ROOT, DROPDEPLOY_LEASE_SECONDS, DROPDEPLOY_WAIT_SECONDS,
DROPDEPLOY_LOG_FORMAT, DROPDEPLOY_API_AUDIENCE, DROPDEPLOY_ADMIN_PRINCIPALS,
DROPDEPLOY_PRELOAD_CLIENTS (true with min-instances: load the clients at start),
DROPDEPLOY_ROLLOUT_POLICY (the rollout policy of services with none of their own, e.g. canary).
Values are passed exactly as set; one with a newline or other control character is refused.
The installer sets these itself and refuses another value in the environment:
DROPDEPLOY_API_AUTH=cloud-run-iam (the API is private behind Cloud Run IAM),
DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS=540 (the functions' --timeout; DROPDEPLOY_LEASE_SECONDS
must be greater), DROPDEPLOY_CONTROLLER_SERVICES=PREFIX-events,PREFIX-api,PREFIX-reconcile
(the controller's own functions, which no upload may deploy over).
EOF
}

PROJECT=""
REGION=""
NAME_PREFIX=dropdeploy
BUCKET=""
REPOSITORY=""
STATUS_TOPIC=""
FIRESTORE_LOCATION=""
MAX_DELIVERY_ATTEMPTS=10
# The functions' --timeout, passed to them as DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS: the build
# lease must outlast a handler run, and the push ack deadline must too.
FUNCTION_TIMEOUT_SECONDS=540
ACK_DEADLINE_SECONDS=600
INVOKERS=()
REDEPLOY=0
UNINSTALL=0
PURGE=0

parse_args() {
  local flag value
  while (($#)); do
    flag=$1
    value=""
    case $flag in
      --*=*)
        value=${flag#*=}
        flag=${flag%%=*}
        ;;
      --project | --region | --prefix | --bucket | --repository | --status-topic | --invoker | --firestore-location | --max-delivery-attempts)
        (($# >= 2)) || die "$flag needs a value (see --help)"
        value=$2
        shift
        ;;
    esac
    case $flag in
      --project) PROJECT=$value ;;
      --region) REGION=$value ;;
      --prefix) NAME_PREFIX=$value ;;
      --bucket) BUCKET=${value#gs://} ;;
      --repository) REPOSITORY=$value ;;
      --status-topic) STATUS_TOPIC=$value ;;
      --invoker) INVOKERS+=("$value") ;;
      --firestore-location) FIRESTORE_LOCATION=$value ;;
      --max-delivery-attempts) MAX_DELIVERY_ATTEMPTS=$value ;;
      --redeploy) REDEPLOY=1 ;;
      --dry-run) DRY_RUN=1 ;;
      --uninstall) UNINSTALL=1 ;;
      --purge) PURGE=1 ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
  done
}

set_names() {
  BUCKET_GIVEN=${BUCKET:+1}
  BUCKET=${BUCKET:-$NAME_PREFIX-sources-$PROJECT}
  REPOSITORY=${REPOSITORY:-$NAME_PREFIX}
  STATUS_TOPIC=${STATUS_TOPIC:-$NAME_PREFIX-status}
  FIRESTORE_LOCATION_GIVEN=${FIRESTORE_LOCATION:+1}
  FIRESTORE_LOCATION=${FIRESTORE_LOCATION:-$REGION}
  FIRESTORE_DB=${DROPDEPLOY_FIRESTORE_DATABASE:-(default)}
  DLQ_TOPIC=$NAME_PREFIX-dead-letter
  DLQ_SUB=$NAME_PREFIX-dead-letter-sub
  FN_EVENTS=$NAME_PREFIX-events
  FN_API=$NAME_PREFIX-api
  FN_RECONCILE=$NAME_PREFIX-reconcile
  SCHEDULER_JOB=$NAME_PREFIX-reconcile
  TRIGGER_UPLOADS=$NAME_PREFIX-uploads
  TRIGGER_BUILDS=$NAME_PREFIX-builds
  # Custom role ids have letters, digits, _ and . only.
  ROLE_CONTROLLER=${NAME_PREFIX//-/_}_controller
  ROLE_API_POLICY=${NAME_PREFIX//-/_}_api_policy_reader
  ROLE_ROLLOUT=${NAME_PREFIX//-/_}_rollout_checks
  local domain="$PROJECT.iam.gserviceaccount.com"
  SA_CONTROLLER=$NAME_PREFIX-controller@$domain
  SA_BUILDER=$NAME_PREFIX-builder@$domain
  SA_TRIGGER=$NAME_PREFIX-trigger@$domain
  SA_SCHEDULER=$NAME_PREFIX-scheduler@$domain
  SA_RUNTIME=$NAME_PREFIX-runtime@$domain
}

preflight() {
  if ((DRY_RUN)); then
    command -v gcloud >/dev/null || warn "gcloud is not on PATH; a real run will need it"
    say "check: an authenticated gcloud account (would run: $(shell_quote gcloud auth list --filter=status:ACTIVE '--format=value(account)'))"
    return 0
  fi
  command -v gcloud >/dev/null ||
    die "gcloud is not on PATH: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)"
  local account
  account=$(gcloud auth list --filter=status:ACTIVE '--format=value(account)' 2>/dev/null || true)
  [[ -n $account ]] || die "gcloud is not authenticated: run 'gcloud auth login' (gcloud auth list shows no active account)"
  say "as: $account, project: $PROJECT, region: $REGION"
  if ((!UNINSTALL)) && [[ ! -f $SOURCE_DIR/.gcloudignore ]]; then
    die "$SOURCE_DIR/.gcloudignore is missing: without it tests and tooling would be uploaded"
  fi
}

main() {
  parse_args "$@"
  set_names
  validate_args
  preflight
  # No prompts: the installer runs unattended and each command says what it does.
  export CLOUDSDK_CORE_DISABLE_PROMPTS=1
  ((DRY_RUN)) && say "dry run: printing the commands for project $PROJECT; nothing is run"
  if ((UNINSTALL)); then
    run_uninstall
  else
    run_install
  fi
  if ((DRY_RUN)); then
    say "dry run: $CHANGES changes planned for an empty project; none made"
  elif ((CHANGES == 0 && UNINSTALL)); then
    say "nothing to do: nothing of dropdeploy's is left to remove"
  elif ((CHANGES == 0)); then
    say "nothing to do: everything is already in place"
  else
    say "done: $CHANGES changes"
  fi
  if ((!UNINSTALL && !DRY_RUN)); then
    local url
    url=$(query gcloud functions describe "$FN_API" "--region=$REGION" "--project=$PROJECT" '--format=value(serviceConfig.uri)')
    say "API: $url (call it with an ID token: see deploy/README.md)"
    say "upload: gcloud storage cp app.tar.gz gs://$BUCKET/SERVICE/v1.tar.gz"
  fi
}

main "$@"
