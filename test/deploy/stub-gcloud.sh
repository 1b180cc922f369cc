#!/usr/bin/env bash
# A recording stand-in for the gcloud CLI, for testing deploy/install.sh without Google Cloud
# (bash, not node: the installer calls gcloud ~80 times a run and node would start 80 times).
# Every call is appended to $STUB_LOG as a JSON array of its arguments. A small model of the
# project lives in the directory $STUB_STATE, so a second run sees what a first one made:
#   res/KEY   a resource exists; its lines are the flags it was created/updated with (k=v)
#   bind/KEY  its IAM bindings, one "role,member" a line
#   apis      enabled APIs
# STUB_MODE=none-exist (default): an empty project. describe answers NOT_FOUND until something
#   created the resource; create of an existing one fails with ALREADY_EXISTS; an IAM grant on a
#   missing resource fails with NOT_FOUND (so a step run before its resource exists fails).
# STUB_MODE=all-exist: every describe succeeds; lists, policies and settings come from the state.
# STUB_NO_AUTH=1: `gcloud auth list` shows no account.
set -euo pipefail

state=${STUB_STATE:?STUB_STATE must name a directory}
mode=${STUB_MODE:-none-exist}
PROJECT_NUMBER=123456789012
mkdir -p "$state/res" "$state/bind"

if [[ -n ${STUB_LOG:-} ]]; then
  line=""
  for a in "$@"; do
    a=${a//\\/\\\\}
    a=${a//\"/\\\"}
    a=${a//$'\n'/\\n}
    a=${a//$'\t'/\\t}
    a=${a//$'\r'/\\r}
    line+="${line:+,}\"$a\""
  done
  printf '[%s]\n' "$line" >>"$STUB_LOG"
fi

words=()
declare -A flags=()
for a in "$@"; do
  if [[ $a == --* ]]; then
    name=${a#--}
    value=true
    if [[ $name == *=* ]]; then
      value=${name#*=}
      name=${name%%=*}
    fi
    if [[ -n ${flags[$name]+x} ]]; then flags[$name]+=";$value"; else flags[$name]=$value; fi
  else
    words+=("$a")
  fi
done

case "${words[*]}" in
  'firestore indexes composite list')
    # value(name.segment(-3),queryScope,fields[].fieldPath.list(),fields[].order.list()) of each index;
    # like Firestore, the implicit __name__ field is listed last.
    db=${flags[database]:-(default)}
    for f in "$state/res/firestore_indexes_composite_${db//\//%}%"*; do
      [[ -e $f ]] || continue
      cg=$(grep '^collection-group=' "$f" | tail -n 1 | cut -d= -f2-)
      scope=$(grep '^query-scope=' "$f" | tail -n 1 | cut -d= -f2- | tr '[:lower:]-' '[:upper:]_')
      IFS=';' read -ra configs <<<"$(grep '^field-config=' "$f" | tail -n 1 | cut -d= -f2-)"
      paths="" orders=""
      for c in "${configs[@]}"; do
        p=${c#field-path=}
        paths+="${p%%,*},"
        o=${c##*order=}
        orders+="${o^^},"
      done
      printf '%s\t%s\t%s__name__\t%sASCENDING\n' "$cg" "${scope:-COLLECTION}" "$paths" "$orders"
    done
    exit 0
    ;;
  'auth list')
    [[ ${STUB_NO_AUTH:-} == 1 ]] || echo tester@example.com
    exit 0
    ;;
  'storage service-agent')
    echo "service-$PROJECT_NUMBER@gs-project-accounts.iam.gserviceaccount.com"
    exit 0
    ;;
  'services list')
    if [[ -f $state/apis ]]; then cat "$state/apis"; fi
    exit 0
    ;;
  'services enable '*)
    printf '%s\n' "${words[@]:2}" >>"$state/apis"
    exit 0
    ;;
esac

v=-1
for i in "${!words[@]}"; do
  case ${words[$i]} in
    create | describe | delete | undelete | deploy | update | rm | add-iam-policy-binding | remove-iam-policy-binding | get-iam-policy)
      v=$i
      break
      ;;
  esac
done
((v >= 0)) || exit 0
verb=${words[$v]}
group="${words[*]:0:$v}"
name=${words[$((v + 1))]:-}
case "$group/$verb" in
  'firestore databases/'*) name=${flags[database]:-(default)} ;;
  'iam service-accounts/create') name="$name@${flags[project]}.iam.gserviceaccount.com" ;;
  'storage/rm') group='storage buckets' ;;
  # An index has no name of its own until Firestore makes one: the stub keys it by collection group.
  'firestore indexes composite/'*) name="${flags[database]:-(default)}/${flags[collection-group]:-}" ;;
  # scheduler jobs create|update http NAME
  'scheduler jobs/create' | 'scheduler jobs/update') name=${words[$((v + 2))]:-} ;;
  # A Cloud Run function's IAM policy is its Cloud Run service's.
  'run services/'*) group=functions ;;
esac
key="$group $name"
file=${key//\//%}
file=${file// /_}
res=$state/res/$file
bind=$state/bind/$file
exists=0
if [[ -f $res || $group == projects ]]; then exists=1; fi

require() {
  if ((!exists)) && [[ $mode != all-exist ]]; then
    echo "ERROR: (gcloud.${group// /.}.$verb) NOT_FOUND: Resource '$key' was not found" >&2
    exit 1
  fi
}
record() {
  local k
  touch "$res"
  for k in "${!flags[@]}"; do printf '%s=%s\n' "$k" "${flags[$k]}" >>"$res"; done
}
setting() {
  if [[ -f $res ]]; then grep "^$1=" "$res" | tail -n 1 | cut -d= -f2- || true; fi
}
field() {
  case $1 in
    projectNumber) echo "$PROJECT_NUMBER" ;;
    transport.pubsub.subscription) echo "projects/${flags[project]}/subscriptions/eventarc-${flags[location]}-$name-sub-000" ;;
    serviceConfig.uri) echo "https://$name-abc123-ew.a.run.app" ;;
    location) setting location | tr '[:lower:]' '[:upper:]' ;;
    labels.managed-by) { setting labels; setting update-labels; } | sed -n 's/.*managed-by=\([^,;]*\).*/\1/p' | head -n 1 ;;
    ackDeadlineSeconds) setting ack-deadline ;;
    schedule) setting schedule ;;
    httpTarget.uri) setting uri ;;
    httpTarget.httpMethod) setting http-method | tr '[:lower:]' '[:upper:]' ;;
    httpTarget.oidcToken.serviceAccountEmail) setting oidc-service-account-email ;;
    httpTarget.oidcToken.audience) setting oidc-token-audience ;;
    attemptDeadline) setting attempt-deadline ;;
    deadLetterPolicy.deadLetterTopic) setting dead-letter-topic ;;
    deadLetterPolicy.maxDeliveryAttempts) setting max-delivery-attempts ;;
    retryPolicy.minimumBackoff) setting min-retry-delay ;;
    retryPolicy.maximumBackoff) setting max-retry-delay ;;
    'deleted.yesno(yes=deleted,no=active)') if [[ $(setting deleted) == true ]]; then echo deleted; else echo active; fi ;;
    'includedPermissions.sort().list()') setting permissions | tr ',;' '\n' | LC_ALL=C sort | paste -sd, - ;;
    *) echo "" ;;
  esac
}

# split_fields 'a,b(c,d),e': the projection's keys, commas inside parentheses kept; sets fields.
split_fields() {
  local spec=$1 depth=0 cur="" ch i
  fields=()
  for ((i = 0; i < ${#spec}; i++)); do
    ch=${spec:i:1}
    case $ch in
      '(') depth=$((depth + 1)) ;;
      ')') depth=$((depth - 1)) ;;
    esac
    if [[ $ch == , ]] && ((depth == 0)); then
      fields+=("$cur")
      cur=""
    else
      cur+=$ch
    fi
  done
  fields+=("$cur")
}

case $verb in
  create)
    if ((exists)); then
      echo "ERROR: (gcloud.${group// /.}.create) ALREADY_EXISTS: '$key' already exists" >&2
      exit 1
    fi
    record
    if [[ $group == 'eventarc triggers' ]]; then
      touch "$state/res/pubsub_subscriptions_projects%${flags[project]}%subscriptions%eventarc-${flags[location]}-$name-sub-000"
    fi
    ;;
  deploy) record ;;
  update)
    require
    record
    ;;
  describe)
    require
    format=${flags[format]:-}
    if [[ $format =~ ^value\((.*)\)$ ]]; then
      split_fields "${BASH_REMATCH[1]}"
      out=()
      for f in "${fields[@]}"; do out+=("$(field "$f")"); done
      (IFS=$'\t' && printf '%s\n' "${out[*]}")
    elif [[ $format != none ]]; then
      echo "name: $key"
    fi
    ;;
  delete | rm)
    require
    if [[ $group == 'iam roles' ]]; then
      # A custom role is only marked deleted; it can be undeleted for 7 days.
      echo deleted=true >>"$res"
    else
      rm -f "$res" "$bind"
    fi
    ;;
  undelete)
    require
    echo deleted=false >>"$res"
    ;;
  get-iam-policy)
    require
    if [[ -f $bind ]]; then cat "$bind"; fi
    ;;
  add-iam-policy-binding)
    require
    grep -qxF "${flags[role]},${flags[member]}" "$bind" 2>/dev/null || echo "${flags[role]},${flags[member]}" >>"$bind"
    ;;
  remove-iam-policy-binding)
    if [[ -f $bind ]]; then
      { grep -vxF "${flags[role]},${flags[member]}" "$bind" || true; } >"$bind.new"
      mv "$bind.new" "$bind"
    fi
    ;;
esac
