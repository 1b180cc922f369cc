# shellcheck shell=bash
# Checks the operator's input before anything runs. Each check adds a line to PROBLEMS that
# names the flag or variable and the rule it breaks; install.sh prints them all and stops.

PROBLEMS=()
problem() { PROBLEMS+=("$*"); }

# check WHAT VALUE REGEX RULE: WHAT names the flag or variable; RULE says what a valid one is.
check() {
  [[ $2 =~ $3 ]] || problem "$1 \"$2\" is not valid: $4"
}

# bucket_problem NAME: why Cloud Storage would refuse the bucket name (nothing if it would not).
# https://cloud.google.com/storage/docs/buckets#naming
bucket_problem() {
  local b=$1 part parts
  if [[ ! $b =~ ^[a-z0-9._-]+$ ]]; then
    echo "a bucket name has only lowercase letters, digits, -, _ and ."
  elif ((${#b} < 3)); then
    echo "a bucket name has at least 3 characters"
  elif [[ ! $b =~ ^[a-z0-9](.*[a-z0-9])?$ ]]; then
    echo "a bucket name must start and end with a letter or digit"
  elif [[ $b != *.* ]] && ((${#b} > 63)); then
    echo "a bucket name has at most 63 characters (222 if it has dots, at most 63 between two dots)"
  elif ((${#b} > 222)); then
    echo "a bucket name with dots has at most 222 characters"
  elif [[ $b == *..* ]]; then
    echo "a bucket name has no .. (each part between dots is a DNS label)"
  elif [[ $b =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "a bucket name may not be an IP address"
  elif [[ $b == goog* ]]; then
    echo "a bucket name may not start with goog"
  elif [[ $b =~ g[o0][o0]g[l1]e ]]; then
    echo "a bucket name may not contain google or a close misspelling of it"
  else
    IFS=. read -ra parts <<<"$b"
    for part in "${parts[@]}"; do
      if ((${#part} > 63)); then
        echo "a bucket name has at most 63 characters between two dots"
        return 0
      fi
    done
  fi
}

# check_names: every name flag against the naming rules of the service that will hold it.
check_names() {
  local member why
  [[ -z $PROJECT ]] || check --project "$PROJECT" '^[a-z][a-z0-9-]{4,28}[a-z0-9]$' \
    "a project id is 6-30 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen"
  [[ -z $REGION ]] || check --region "$REGION" '^[a-z]+-[a-z]+[0-9]+$' "a region is lowercase letters, a hyphen, lowercase letters and a number, such as europe-west1"
  # The prefix begins service account ids (6-30 characters; the longest is PREFIX-controller),
  # topic ids and the default bucket name, which may not start with goog.
  check --prefix "$NAME_PREFIX" '^[a-z]([a-z0-9-]*[a-z0-9])?$' \
    "a prefix is lowercase letters, digits or hyphens, starting with a letter and ending with a letter or digit"
  ((${#NAME_PREFIX} <= 19)) || problem "--prefix \"$NAME_PREFIX\" is not valid: a prefix has at most 19 characters (service account ids such as PREFIX-controller have at most 30)"
  [[ $NAME_PREFIX != goog* ]] || problem "--prefix \"$NAME_PREFIX\" is not valid: topic and bucket names may not start with goog"
  why=$(bucket_problem "$BUCKET")
  if [[ -n $why && -n $BUCKET_GIVEN ]]; then
    problem "--bucket \"$BUCKET\" is not valid: $why"
  elif [[ -n $why && -n $PROJECT ]]; then
    problem "the default bucket \"$BUCKET\" (PREFIX-sources-PROJECT) is not valid: $why; name one with --bucket"
  fi
  check --repository "$REPOSITORY" '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$' \
    "an Artifact Registry repository id is 1-63 lowercase letters, digits or hyphens, starting with a letter and ending with a letter or digit"
  check --status-topic "$STATUS_TOPIC" '^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$' \
    "a Pub/Sub topic id is 3-255 letters, digits and - _ . ~ + %, starting with a letter"
  [[ $STATUS_TOPIC != goog* ]] || problem "--status-topic \"$STATUS_TOPIC\" is not valid: a Pub/Sub topic id may not start with goog"
  [[ -z $FIRESTORE_LOCATION_GIVEN ]] ||
    check --firestore-location "$FIRESTORE_LOCATION" '^([a-z]+-[a-z]+[0-9]+|eur[0-9]+|nam[0-9]+)$' \
      "a Firestore location is a region such as europe-west1 or a multi-region such as eur3 or nam5"
  check DROPDEPLOY_FIRESTORE_DATABASE "$FIRESTORE_DB" '^(\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$' \
    "a Firestore database id is (default) or 4-63 lowercase letters, digits or hyphens, starting with a letter and ending with a letter or digit"
  for member in "${INVOKERS[@]}"; do
    if [[ $member == allUsers || $member == allAuthenticatedUsers ]]; then
      problem "--invoker $member would make the API public; name the people or accounts instead"
    elif ! [[ $member =~ ^(user|group|serviceAccount):[^@[:space:],]+@[^@[:space:],]+\.[^@[:space:],]+$ ||
      $member =~ ^domain:[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$ ||
      $member =~ ^(principal|principalSet)://[^[:space:],]+$ ]]; then
      problem "--invoker \"$member\" is not valid: an invoker is an IAM principal, one per --invoker: user:EMAIL, group:EMAIL, serviceAccount:EMAIL, domain:DOMAIN, principal://… or principalSet://…"
    fi
  done
}

# validate_args: every problem with the flags and the environment at once, or nothing runs.
validate_args() {
  [[ -n $PROJECT ]] || problem "--project is missing: the Google Cloud project id to install into"
  [[ -n $REGION ]] || problem "--region is missing: a Cloud Run region such as europe-west1"
  check_names
  if ! [[ $MAX_DELIVERY_ATTEMPTS =~ ^[0-9]+$ ]] || ((MAX_DELIVERY_ATTEMPTS < 5 || MAX_DELIVERY_ATTEMPTS > 100)); then
    problem "--max-delivery-attempts must be a number from 5 to 100"
  fi
  ((!PURGE || UNINSTALL)) || problem "--purge only makes sense with --uninstall"
  ((UNINSTALL)) || check_env_vars
  if ((${#PROBLEMS[@]})); then
    printf 'error: %s\n' "${PROBLEMS[@]}" >&2
    printf 'Run deploy/install.sh --help for the options.\n' >&2
    exit 2
  fi
}

# Optional controller settings taken from the operator's environment when set (src/config.ts).
# DROPDEPLOY_API_AUTH is not one of them: the installer always sets it (see env_pairs).
PASSTHROUGH_VARS=(DROPDEPLOY_PREFIX DROPDEPLOY_BUILD_MACHINE_TYPE DROPDEPLOY_BUILD_TIMEOUT_SECONDS DROPDEPLOY_BUILD_CACHE
  DROPDEPLOY_SERVICE_MEMORY DROPDEPLOY_SERVICE_CPU DROPDEPLOY_SERVICE_MAX_INSTANCES DROPDEPLOY_SERVICE_INGRESS
  DROPDEPLOY_FIRESTORE_DATABASE DROPDEPLOY_FIRESTORE_ROOT DROPDEPLOY_LEASE_SECONDS DROPDEPLOY_WAIT_SECONDS
  DROPDEPLOY_LOG_FORMAT DROPDEPLOY_API_AUDIENCE DROPDEPLOY_ADMIN_PRINCIPALS DROPDEPLOY_PRELOAD_CLIENTS
  DROPDEPLOY_ROLLOUT_POLICY)

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
    "DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS=$FUNCTION_TIMEOUT_SECONDS"
    # Its own Cloud Run services: the controller refuses uploads that would deploy over them.
    "DROPDEPLOY_CONTROLLER_SERVICES=$FN_EVENTS,$FN_API,$FN_RECONCILE"
  )
  local name
  for name in "${PASSTHROUGH_VARS[@]}"; do
    if [[ -n ${!name:-} ]]; then ENV_PAIRS+=("$name=${!name}"); fi
  done
}

# installer_sets NAME VALUE WHY: NAME is the installer's to set; refuses another value from the environment.
installer_sets() {
  local name=$1 value=$2 why=$3
  if [[ -n ${!name:-} && ${!name} != "$value" ]]; then
    problem "$name=${!name} is set in your environment, but the installer always sets it to $value ($why); unset it"
  fi
}

# check_env_vars: refuses what cannot reach the functions intact and sets ENV_VARS_FLAG.
check_env_vars() {
  local name pair delim
  installer_sets DROPDEPLOY_API_AUTH cloud-run-iam "the API is private and Cloud Run checks every caller"
  installer_sets DROPDEPLOY_CONTROLLER_SERVICES "$FN_EVENTS,$FN_API,$FN_RECONCILE" "the controller's own functions"
  installer_sets DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS "$FUNCTION_TIMEOUT_SECONDS" "the functions' real --timeout"
  # The controller refuses this too; saying so here saves a deploy that cannot start.
  local lease=${DROPDEPLOY_LEASE_SECONDS:-}
  if [[ -n $lease ]] && { ! [[ $lease =~ ^[0-9]+$ ]] || ((10#$lease <= FUNCTION_TIMEOUT_SECONDS)); }; then
    problem "DROPDEPLOY_LEASE_SECONDS=\"$lease\" is not valid: the build lease must be a number of seconds greater than $FUNCTION_TIMEOUT_SECONDS, the functions' timeout (DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS), or a second handler could take over a step the first is still doing"
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
