# shellcheck shell=bash
# Checks the operator's input before anything runs. Each check adds a line to PROBLEMS that
# names the flag or variable and the rule it breaks; install.sh prints them all and stops.

PROBLEMS=()
problem() { PROBLEMS+=("$*"); }

# Optional controller settings taken from the operator's environment when set (src/config.ts).
# DROPDEPLOY_API_AUTH is not one of them: the installer always sets it (see env_pairs).
PASSTHROUGH_VARS=(DROPDEPLOY_PREFIX DROPDEPLOY_BUILD_MACHINE_TYPE DROPDEPLOY_BUILD_TIMEOUT_SECONDS
  DROPDEPLOY_SERVICE_MEMORY DROPDEPLOY_SERVICE_CPU DROPDEPLOY_SERVICE_MAX_INSTANCES DROPDEPLOY_SERVICE_INGRESS
  DROPDEPLOY_FIRESTORE_DATABASE DROPDEPLOY_FIRESTORE_ROOT DROPDEPLOY_LEASE_SECONDS DROPDEPLOY_WAIT_SECONDS
  DROPDEPLOY_LOG_FORMAT DROPDEPLOY_API_AUDIENCE DROPDEPLOY_ADMIN_PRINCIPALS)

# gcloud splits --set-env-vars on a delimiter of our choosing (`^DELIM^` at the start, see
# `gcloud topic escaping`); the first of these that no value contains is used. Single
# characters only: with a longer delimiter a value ending in part of it would be split wrongly.
ENV_DELIMITERS=('|' ';' '~' '#' '!' '+' '*' '&' '%' '@' ':')

# env_pairs: NAME=VALUE for every variable the functions get; sets ENV_PAIRS.
env_pairs() {
  ENV_PAIRS=(
    "DROPDEPLOY_PROJECT=$PROJECT"
    "DROPDEPLOY_REGION=$REGION"
    "DROPDEPLOY_REPOSITORY=$REPOSITORY"
    "DROPDEPLOY_STATUS_TOPIC=$STATUS_TOPIC"
    "DROPDEPLOY_BUCKETS=$BUCKET"
    "DROPDEPLOY_BUILD_SERVICE_ACCOUNT=$SA_BUILDER"
    "DROPDEPLOY_RUNTIME_SERVICE_ACCOUNT=$SA_RUNTIME"
    # The API is private: Cloud Run IAM verifies callers' ID tokens before the controller.
    "DROPDEPLOY_API_AUTH=cloud-run-iam"
  )
  local name
  for name in "${PASSTHROUGH_VARS[@]}"; do
    if [[ -n ${!name:-} ]]; then ENV_PAIRS+=("$name=${!name}"); fi
  done
}

# check_env_vars: refuses what cannot reach the functions intact and sets ENV_VARS_FLAG.
check_env_vars() {
  local name pair delim
  if [[ -n ${DROPDEPLOY_API_AUTH:-} && $DROPDEPLOY_API_AUTH != cloud-run-iam ]]; then
    problem "DROPDEPLOY_API_AUTH=$DROPDEPLOY_API_AUTH is set in your environment, but the installer always deploys the API with cloud-run-iam (private, Cloud Run checks every caller); unset it"
  fi
  for name in "${PASSTHROUGH_VARS[@]}"; do
    if [[ ${!name:-} == *[[:cntrl:]]* ]]; then
      problem "$name contains a newline or another control character, which cannot be passed to the functions as an environment variable; remove it"
    fi
  done
  env_pairs
  for delim in "${ENV_DELIMITERS[@]}"; do
    for pair in "${ENV_PAIRS[@]}"; do
      [[ $pair != *"$delim"* ]] || continue 2
    done
    # shellcheck disable=SC2034 # read by deploy_function (install-steps.sh)
    ENV_VARS_FLAG="--set-env-vars=^$delim^$(IFS=$delim && printf '%s' "${ENV_PAIRS[*]}")"
    return 0
  done
  local users=()
  for name in "${PASSTHROUGH_VARS[@]}"; do
    for delim in "${ENV_DELIMITERS[@]}"; do
      if [[ ${!name:-} == *"$delim"* ]]; then
        users+=("$name")
        break
      fi
    done
  done
  problem "the controller settings ${users[*]} together contain every delimiter gcloud could separate them with (${ENV_DELIMITERS[*]}), so one value could set another variable; remove one of these characters from them"
}
