# shellcheck shell=bash
# Helpers shared by install and uninstall: output, quoting, and the three ways the
# installer talks to gcloud -- probe (does it exist?), query (read a value) and mutate
# (change the project). In a dry run probe and query run nothing and mutate only prints.

DRY_RUN=0
CHANGES=0
RETRY_DELAY_SECONDS=${RETRY_DELAY_SECONDS:-15}

say() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# shell_quote ARG...: the arguments as one line that can be pasted into a shell.
shell_quote() {
  local a out=""
  for a in "$@"; do
    if [[ -n $a && $a =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then
      out+=" $a"
    else
      out+=" '${a//\'/\'\\\'\'}'"
    fi
  done
  printf '%s' "${out# }"
}

# probe WHAT CMD...: 0 if the resource exists, 1 if gcloud says it does not. Any other
# failure (no permission, API disabled, network) stops the installer: treating it as
# "absent" would try to create what may well exist. A dry run assumes "absent" and runs
# nothing, so the plan shows every command a fresh project needs.
probe() {
  local what=$1 err
  shift
  if ((DRY_RUN)); then
    say "check: $what (would run: $(shell_quote "$@"))"
    return 1
  fi
  if err=$("$@" 2>&1 >/dev/null); then
    return 0
  fi
  if grep -qiE 'not[ _]?found|404|does not exist' <<<"$err"; then
    return 1
  fi
  die "could not check $what; $(shell_quote "$@") failed: $err"
}

# query CMD...: prints the command's output; stops the installer if it fails.
query() {
  local out
  out=$("$@" 2>&1) || die "$(shell_quote "$@") failed: $out"
  printf '%s' "$out"
}

# mutate ACTION WHAT CMD...: announce "ACTION: WHAT" and run the command (dry run: print it).
mutate() {
  local action=$1 what=$2
  shift 2
  CHANGES=$((CHANGES + 1))
  say "$action: $what"
  say "  $(shell_quote "$@")"
  ((DRY_RUN)) && return 0
  "$@"
}

# mutate_retry ACTION WHAT CMD...: like mutate, retried a few times. IAM grants to a new
# service account and Eventarc triggers right after enabling APIs fail for a minute or
# two until the change has propagated.
mutate_retry() {
  local action=$1 what=$2 attempt
  shift 2
  CHANGES=$((CHANGES + 1))
  say "$action: $what"
  say "  $(shell_quote "$@")"
  ((DRY_RUN)) && return 0
  for attempt in 1 2 3 4 5; do
    if "$@"; then
      return 0
    fi
    ((attempt == 5)) && break
    warn "attempt $attempt failed; retrying in ${RETRY_DELAY_SECONDS}s (IAM and new APIs take a while to propagate)"
    sleep "$RETRY_DELAY_SECONDS"
  done
  die "giving up on: $(shell_quote "$@")"
}

exists() { say "exists: $*"; }

# iam_scope KIND: the gcloud command group and the extra flags of an IAM-bearing resource.
# Sets the globals SCOPE_GROUP (array) and SCOPE_FLAGS (array).
iam_scope() {
  SCOPE_FLAGS=()
  case $1 in
    project) SCOPE_GROUP=(projects) ;;
    topic) SCOPE_GROUP=(pubsub topics) ;;
    subscription) SCOPE_GROUP=(pubsub subscriptions) ;;
    service-account) SCOPE_GROUP=(iam service-accounts) ;;
    bucket) SCOPE_GROUP=(storage buckets) ;;
    repository)
      SCOPE_GROUP=(artifacts repositories)
      SCOPE_FLAGS=("--location=$REGION")
      ;;
    run-service)
      SCOPE_GROUP=(run services)
      SCOPE_FLAGS=("--region=$REGION")
      ;;
    *) die "internal: unknown IAM scope $1" ;;
  esac
}

# has_binding KIND RESOURCE ROLE MEMBER: whether the resource's IAM policy grants ROLE to MEMBER.
# Uses only the global --flatten/--format flags, which every get-iam-policy command has.
has_binding() {
  local kind=$1 resource=$2 role=$3 member=$4 policy
  iam_scope "$kind"
  local cmd=(gcloud "${SCOPE_GROUP[@]}" get-iam-policy "$resource" "${SCOPE_FLAGS[@]}" "--project=$PROJECT"
    '--flatten=bindings[].members' '--format=csv[no-heading](bindings.role,bindings.members)')
  if ((DRY_RUN)); then
    say "check: $role for $member on $kind $resource (would run: $(shell_quote "${cmd[@]}"))"
    return 1
  fi
  policy=$(query "${cmd[@]}")
  grep -qxF "$role,$member" <<<"$policy"
}

# grant KIND RESOURCE ROLE MEMBER: adds the binding unless the policy already has it.
grant() {
  local kind=$1 resource=$2 role=$3 member=$4
  if has_binding "$kind" "$resource" "$role" "$member"; then
    exists "$role for $member on $kind $resource"
    return 0
  fi
  iam_scope "$kind"
  local extra=()
  # A project policy with conditional bindings refuses unconditional additions unless told.
  [[ $kind == project ]] && extra=(--condition=None)
  mutate_retry grant "$role for $member on $kind $resource" \
    gcloud "${SCOPE_GROUP[@]}" add-iam-policy-binding "$resource" "${SCOPE_FLAGS[@]}" "--project=$PROJECT" \
    "--member=$member" "--role=$role" "${extra[@]}" --format=none
}

# revoke KIND RESOURCE ROLE MEMBER: removes the binding if the policy has it.
revoke() {
  local kind=$1 resource=$2 role=$3 member=$4
  # A dry run cannot look, so it prints the removal it would make if the binding were there.
  if ! has_binding "$kind" "$resource" "$role" "$member" && ((!DRY_RUN)); then
    say "absent: $role for $member on $kind $resource"
    return 0
  fi
  iam_scope "$kind"
  local extra=()
  [[ $kind == project ]] && extra=(--all)
  mutate revoke "$role for $member on $kind $resource" \
    gcloud "${SCOPE_GROUP[@]}" remove-iam-policy-binding "$resource" "${SCOPE_FLAGS[@]}" "--project=$PROJECT" \
    "--member=$member" "--role=$role" "${extra[@]}" --format=none
}

# revoke_if_granted KIND RESOURCE ROLE MEMBER: removes a grant an older installer made. A dry
# run, which cannot look, only says what it would check.
revoke_if_granted() {
  if ((DRY_RUN)); then
    say "check: $3 for $4 on $1 $2, which older installers granted (would revoke it if present)"
  elif has_binding "$@"; then
    revoke "$@"
  fi
}

# custom_role_state ID: whether the project custom role ID exists. Sets ROLE_STATE (absent,
# active, or deleted: a deleted role can be undeleted for 7 days and blocks its id for up to
# 37) and ROLE_PERMISSIONS (sorted, comma-separated). A dry run says absent.
# shellcheck disable=SC2034 # ROLE_STATE and ROLE_PERMISSIONS are read by the install and uninstall steps
custom_role_state() {
  local id=$1 out
  ROLE_STATE=absent
  ROLE_PERMISSIONS=""
  probe "custom role $id" gcloud iam roles describe "$id" "--project=$PROJECT" --format=none || return 0
  out=$(query gcloud iam roles describe "$id" "--project=$PROJECT" \
    '--format=value(deleted.yesno(yes=deleted,no=active),includedPermissions.sort().list())')
  ROLE_STATE=${out%%$'\t'*}
  ROLE_PERMISSIONS=${out#*$'\t'}
}
