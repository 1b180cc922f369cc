# shellcheck shell=bash
# The install steps, in dependency order. Each checks what exists and creates only what
# is missing. The names come from install.sh (see its usage text).

# cloudfunctions is not in the issue's list but `gcloud functions deploy` needs it; monitoring
# serves the request metrics a canary step is judged by (ListTimeSeries).
REQUIRED_APIS=(run cloudbuild artifactregistry eventarc pubsub firestore storage iam cloudfunctions cloudscheduler monitoring)

ensure_apis() {
  local api missing=() enabled=""
  if ((DRY_RUN)); then
    say "check: enabled APIs (would run: $(shell_quote gcloud services list --enabled "--project=$PROJECT" '--format=value(config.name)'))"
    missing=("${REQUIRED_APIS[@]}")
  else
    enabled=$(query gcloud services list --enabled "--project=$PROJECT" '--format=value(config.name)')
    for api in "${REQUIRED_APIS[@]}"; do
      if grep -qxF "$api.googleapis.com" <<<"$enabled"; then
        exists "API $api.googleapis.com"
      else
        missing+=("$api")
      fi
    done
  fi
  ((${#missing[@]})) || return 0
  local names=()
  for api in "${missing[@]}"; do names+=("$api.googleapis.com"); done
  mutate enable "APIs ${names[*]}" gcloud services enable "${names[@]}" "--project=$PROJECT"
}

# The project number names the Google-managed service agents.
lookup_project_number() {
  if ((DRY_RUN)); then
    PROJECT_NUMBER=PROJECT_NUMBER
    say "check: project number, written PROJECT_NUMBER below (would run: $(shell_quote gcloud projects describe "$PROJECT" '--format=value(projectNumber)'))"
  else
    PROJECT_NUMBER=$(query gcloud projects describe "$PROJECT" '--format=value(projectNumber)')
  fi
  PUBSUB_AGENT="service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com"
}

ensure_bucket() {
  if probe "bucket gs://$BUCKET" gcloud storage buckets describe "gs://$BUCKET" "--project=$PROJECT" --format=none; then
    exists "bucket gs://$BUCKET"
  else
    mutate create "bucket gs://$BUCKET" gcloud storage buckets create "gs://$BUCKET" "--project=$PROJECT" \
      "--location=$REGION" --uniform-bucket-level-access --public-access-prevention
  fi
}

ensure_repository() {
  if probe "repository $REPOSITORY" gcloud artifacts repositories describe "$REPOSITORY" "--location=$REGION" "--project=$PROJECT" --format=none; then
    exists "Artifact Registry repository $REPOSITORY"
  else
    mutate create "Artifact Registry repository $REPOSITORY" gcloud artifacts repositories create "$REPOSITORY" \
      "--location=$REGION" "--project=$PROJECT" --repository-format=docker \
      '--description=dropdeploy images' --labels=managed-by=dropdeploy
  fi
}

ensure_firestore() {
  if probe "Firestore database $FIRESTORE_DB" gcloud firestore databases describe "--database=$FIRESTORE_DB" "--project=$PROJECT" --format=none; then
    exists "Firestore database $FIRESTORE_DB"
  else
    mutate create "Firestore database $FIRESTORE_DB" gcloud firestore databases create "--database=$FIRESTORE_DB" \
      "--location=$FIRESTORE_LOCATION" --type=firestore-native "--project=$PROJECT"
  fi
}

# The reconciler's query: a collection-group query on releases, root == this root, state in [...] and
# updateTime < cutoff, ordered by updateTime. Firestore serves it only from this composite index.
INDEX_COLLECTION_GROUP=releases
INDEX_FIELDS=(root state updateTime)

ensure_index() {
  local shown
  shown=$(printf '%s, ' "${INDEX_FIELDS[@]}")
  local what="composite index $INDEX_COLLECTION_GROUP (${shown%, }) for every collection named $INDEX_COLLECTION_GROUP"
  local list=(gcloud firestore indexes composite list "--database=$FIRESTORE_DB" "--project=$PROJECT"
    '--format=value(name.segment(-3),queryScope,fields[].fieldPath.list(),fields[].order.list())')
  local field fields=() paths orders tab=$'\t'
  for field in "${INDEX_FIELDS[@]}"; do fields+=("--field-config=field-path=$field,order=ascending"); done
  paths=$(IFS=, && printf '%s' "${INDEX_FIELDS[*]}")
  orders=$(printf 'ASCENDING,%.0s' "${INDEX_FIELDS[@]}")
  orders=${orders%,}
  if ((DRY_RUN)); then
    say "check: composite index $INDEX_COLLECTION_GROUP (${shown%, }) (would run: $(shell_quote "${list[@]}"))"
  # Firestore lists the implicit last field __name__ too, in the last field's order.
  elif query "${list[@]}" | grep -qxE "$INDEX_COLLECTION_GROUP${tab}COLLECTION_GROUP$tab$paths(,__name__)?$tab$orders(,ASCENDING)?"; then
    exists "$what"
    return 0
  fi
  # --async: on a database with data the index takes minutes to build; until it is READY the
  # reconciler's query fails and is tried again on the next tick.
  mutate_retry create "$what (builds in the background)" gcloud firestore indexes composite create "--database=$FIRESTORE_DB" \
    "--project=$PROJECT" "--collection-group=$INDEX_COLLECTION_GROUP" --query-scope=collection-group "${fields[@]}" --async --format=none
}

ensure_topic() {
  local topic=$1
  if probe "topic $topic" gcloud pubsub topics describe "$topic" "--project=$PROJECT" --format=none; then
    exists "topic $topic"
  else
    # The label lets --uninstall tell a cloud-builds topic it created from one that was there before.
    mutate create "topic $topic" gcloud pubsub topics create "$topic" "--project=$PROJECT" --labels=managed-by=dropdeploy
  fi
}

ensure_topics() {
  ensure_topic "$STATUS_TOPIC"
  # Cloud Build publishes build status to a topic named cloud-builds only if it exists.
  ensure_topic cloud-builds
  ensure_topic "$DLQ_TOPIC"
  # A dead-letter topic with no subscription drops what it receives.
  if probe "subscription $DLQ_SUB" gcloud pubsub subscriptions describe "$DLQ_SUB" "--project=$PROJECT" --format=none; then
    exists "subscription $DLQ_SUB"
  else
    mutate create "subscription $DLQ_SUB (keeps dead events 7 days)" gcloud pubsub subscriptions create "$DLQ_SUB" \
      "--topic=$DLQ_TOPIC" "--project=$PROJECT" --message-retention-duration=7d --expiration-period=never \
      --labels=managed-by=dropdeploy
  fi
}

ensure_service_account() {
  local email=$1 title=$2
  if probe "service account $email" gcloud iam service-accounts describe "$email" "--project=$PROJECT" --format=none; then
    exists "service account $email"
  else
    mutate create "service account $email" gcloud iam service-accounts create "${email%%@*}" "--project=$PROJECT" \
      "--display-name=$title"
  fi
}

ensure_service_accounts() {
  ensure_service_account "$SA_CONTROLLER" 'dropdeploy controller (its functions)'
  ensure_service_account "$SA_BUILDER" 'dropdeploy builds (Cloud Build)'
  ensure_service_account "$SA_TRIGGER" 'dropdeploy Eventarc triggers'
  ensure_service_account "$SA_SCHEDULER" 'dropdeploy Cloud Scheduler (runs the reconciler)'
  ensure_service_account "$SA_RUNTIME" 'Services deployed by dropdeploy'
}

# deploy_function NAME ENTRY_POINT INGRESS: the functions are private HTTP functions; the
# event function receives its CloudEvents from the Eventarc triggers created below.
# They are labelled dropdeploy-role=controller. Never managed-by=dropdeploy: that label marks
# the services dropdeploy deploys, so on its own functions it would let an upload named after
# one of them replace the controller (older installers set it; it is removed on every deploy).
deploy_function() {
  local name=$1 entry=$2 ingress=$3
  if probe "function $name" gcloud functions describe "$name" "--region=$REGION" "--project=$PROJECT" --format=none; then
    if [[ $(query gcloud functions describe "$name" "--region=$REGION" "--project=$PROJECT" '--format=value(labels.managed-by)') == dropdeploy ]]; then
      say "redeploy: function $name (an older installer labelled it managed-by=dropdeploy, which lets dropdeploy deploy over it)"
    elif ((!REDEPLOY)); then
      exists "function $name (--redeploy deploys this checkout's code and settings again)"
      return 0
    else
      say "redeploy: function $name"
    fi
  fi
  mutate deploy "function $name" gcloud functions deploy "$name" --gen2 "--region=$REGION" "--project=$PROJECT" \
    --runtime=nodejs22 "--source=$SOURCE_DIR" "--entry-point=$entry" --trigger-http --no-allow-unauthenticated \
    "--ingress-settings=$ingress" "--service-account=$SA_CONTROLLER" "--timeout=${FUNCTION_TIMEOUT_SECONDS}s" --memory=512Mi \
    "$ENV_VARS_FLAG" --update-labels=dropdeploy-role=controller --remove-labels=managed-by --quiet
}

ensure_functions() {
  # Eventarc and Pub/Sub count as internal traffic, so the event function takes nothing else.
  deploy_function "$FN_EVENTS" dropdeployEvents internal-only
  deploy_function "$FN_API" dropdeployApi all
  # Cloud Scheduler in the same project is internal traffic when it calls the run.app URL
  # (https://cloud.google.com/run/docs/securing/ingress#settings), which the job below uses.
  deploy_function "$FN_RECONCILE" dropdeployReconcile internal-only
  grant run-service "$FN_EVENTS" roles/run.invoker "serviceAccount:$SA_TRIGGER"
  grant run-service "$FN_RECONCILE" roles/run.invoker "serviceAccount:$SA_SCHEDULER"
  grant run-service "$FN_API" "projects/$PROJECT/roles/$ROLE_API_POLICY" "serviceAccount:$SA_CONTROLLER"
  local member
  for member in "${INVOKERS[@]}"; do
    grant run-service "$FN_API" roles/run.invoker "$member"
  done
  ((${#INVOKERS[@]})) || say "note: no --invoker given: only principals with project-wide invoker rights (such as Owners) can call $FN_API"
}

# The reconciler runs every minute: Cloud Scheduler POSTs (the body is ignored) to the reconcile
# function's run.app URL with an OIDC token of the scheduler service account, audience that URL.
ensure_scheduler() {
  local url current tab=$'\t'
  local describe_url=(gcloud functions describe "$FN_RECONCILE" "--region=$REGION" "--project=$PROJECT" '--format=value(serviceConfig.uri)')
  # An attempt may last as long as the function may run, so a long run is not counted a failure.
  local settings=("--location=$REGION" "--project=$PROJECT" '--schedule=* * * * *' --time-zone=Etc/UTC
    --http-method=post "--oidc-service-account-email=$SA_SCHEDULER" "--attempt-deadline=${FUNCTION_TIMEOUT_SECONDS}s"
    '--description=Runs the dropdeploy reconciler' --format=none)
  if ((DRY_RUN)); then
    # Pasteable: the URL is only known once the function exists.
    say "check: scheduler job $SCHEDULER_JOB (would run: $(shell_quote gcloud scheduler jobs describe "$SCHEDULER_JOB" "--location=$REGION" "--project=$PROJECT" --format=none))"
    say "create: scheduler job $SCHEDULER_JOB (every minute, POST to $FN_RECONCILE as $SA_SCHEDULER)"
    say "  RECONCILE_URL=\$($(shell_quote "${describe_url[@]}"))"
    say "  $(shell_quote gcloud scheduler jobs create http "$SCHEDULER_JOB" "${settings[@]}") --uri=\"\$RECONCILE_URL\" --oidc-token-audience=\"\$RECONCILE_URL\""
    CHANGES=$((CHANGES + 1))
    return 0
  fi
  url=$(query "${describe_url[@]}")
  [[ -n $url ]] || die "function $FN_RECONCILE has no URL yet; run the installer again in a minute"
  settings+=("--uri=$url" "--oidc-token-audience=$url")
  if probe "scheduler job $SCHEDULER_JOB" gcloud scheduler jobs describe "$SCHEDULER_JOB" "--location=$REGION" "--project=$PROJECT" --format=none; then
    current=$(query gcloud scheduler jobs describe "$SCHEDULER_JOB" "--location=$REGION" "--project=$PROJECT" \
      '--format=value(schedule,httpTarget.uri,httpTarget.httpMethod,httpTarget.oidcToken.serviceAccountEmail,httpTarget.oidcToken.audience,attemptDeadline)')
    if [[ $current == "* * * * *$tab$url${tab}POST$tab$SA_SCHEDULER$tab$url$tab${FUNCTION_TIMEOUT_SECONDS}s" ]]; then
      exists "scheduler job $SCHEDULER_JOB"
    else
      mutate_retry update "scheduler job $SCHEDULER_JOB (every minute, POST to $url as $SA_SCHEDULER)" \
        gcloud scheduler jobs update http "$SCHEDULER_JOB" "${settings[@]}"
    fi
  else
    # Retried: the new service account and its invoker grant take a while to propagate.
    mutate_retry create "scheduler job $SCHEDULER_JOB (every minute, POST to $url as $SA_SCHEDULER)" \
      gcloud scheduler jobs create http "$SCHEDULER_JOB" "${settings[@]}"
  fi
}

# find_upload_trigger_location: an Eventarc storage trigger must live where its bucket is
# (a bucket that existed before may be multi-region). Sets UPLOAD_TRIGGER_LOCATION.
find_upload_trigger_location() {
  local location=""
  if ((!DRY_RUN)) && probe "bucket gs://$BUCKET" gcloud storage buckets describe "gs://$BUCKET" "--project=$PROJECT" --format=none; then
    location=$(query gcloud storage buckets describe "gs://$BUCKET" "--project=$PROJECT" '--format=value(location)')
  fi
  location=${location,,}
  UPLOAD_TRIGGER_LOCATION=${location:-$REGION}
}

# ensure_trigger NAME LOCATION FILTER_OR_FLAG...: an Eventarc trigger to the event function.
ensure_trigger() {
  local name=$1 location=$2
  shift 2
  if probe "trigger $name" gcloud eventarc triggers describe "$name" "--location=$location" "--project=$PROJECT" --format=none; then
    exists "trigger $name"
  else
    mutate_retry create "trigger $name" gcloud eventarc triggers create "$name" "--location=$location" "--project=$PROJECT" \
      "--destination-run-service=$FN_EVENTS" "--destination-run-region=$REGION" \
      "--service-account=$SA_TRIGGER" --labels=managed-by=dropdeploy "$@"
  fi
  configure_trigger_subscription "$name" "$location"
}

# The subscription Eventarc created for a trigger: retries with backoff, a dead-letter
# topic, and an ack deadline (also the push timeout) longer than the 540 s handler.
configure_trigger_subscription() {
  local name=$1 location=$2 sub current
  local describe=(gcloud eventarc triggers describe "$name" "--location=$location" "--project=$PROJECT"
    '--format=value(transport.pubsub.subscription)')
  local tab=$'\t'
  local want="$ACK_DEADLINE_SECONDS${tab}projects/$PROJECT/topics/$DLQ_TOPIC${tab}$MAX_DELIVERY_ATTEMPTS${tab}10s${tab}600s"
  local update=(--ack-deadline="$ACK_DEADLINE_SECONDS" "--dead-letter-topic=projects/$PROJECT/topics/$DLQ_TOPIC"
    "--max-delivery-attempts=$MAX_DELIVERY_ATTEMPTS" --min-retry-delay=10s --max-retry-delay=600s "--project=$PROJECT")
  if ((DRY_RUN)); then
    # Pasteable: the subscription name is only known once the trigger exists.
    say "configure: subscription of trigger $name (retries, dead-letter topic, ack deadline ${ACK_DEADLINE_SECONDS}s)"
    say "  SUB=\$($(shell_quote "${describe[@]}"))"
    say "  $(shell_quote gcloud pubsub subscriptions update) \"\$SUB\" $(shell_quote "${update[@]}")"
    say "  $(shell_quote gcloud pubsub subscriptions add-iam-policy-binding) \"\$SUB\" $(shell_quote "--project=$PROJECT" "--member=serviceAccount:$PUBSUB_AGENT" --role=roles/pubsub.subscriber --format=none)"
    CHANGES=$((CHANGES + 2))
    return 0
  fi
  sub=$(query "${describe[@]}")
  [[ -n $sub ]] || die "trigger $name has no Pub/Sub subscription yet; run the installer again in a minute"
  current=$(query gcloud pubsub subscriptions describe "$sub" "--project=$PROJECT" \
    '--format=value(ackDeadlineSeconds,deadLetterPolicy.deadLetterTopic,deadLetterPolicy.maxDeliveryAttempts,retryPolicy.minimumBackoff,retryPolicy.maximumBackoff)')
  if [[ $current == "$want" ]]; then
    exists "retries, dead-letter topic and ${ACK_DEADLINE_SECONDS}s ack deadline on $sub"
  else
    mutate_retry configure "retries, dead-letter topic and ${ACK_DEADLINE_SECONDS}s ack deadline on $sub" \
      gcloud pubsub subscriptions update "$sub" "${update[@]}"
  fi
  # Dead-lettering forwards as the Pub/Sub service agent: it must read here and publish there.
  grant subscription "$sub" roles/pubsub.subscriber "serviceAccount:$PUBSUB_AGENT"
}

ensure_triggers() {
  find_upload_trigger_location
  ensure_trigger "$TRIGGER_UPLOADS" "$UPLOAD_TRIGGER_LOCATION" \
    --event-filters=type=google.cloud.storage.object.v1.finalized "--event-filters=bucket=$BUCKET"
  ensure_trigger "$TRIGGER_BUILDS" "$REGION" \
    --event-filters=type=google.cloud.pubsub.topic.v1.messagePublished "--transport-topic=projects/$PROJECT/topics/cloud-builds"
}

run_install() {
  ensure_apis
  lookup_project_number
  ensure_bucket
  ensure_repository
  ensure_firestore
  ensure_index
  ensure_topics
  ensure_service_accounts
  ensure_custom_roles
  ensure_roles
  ensure_functions
  ensure_scheduler
  ensure_triggers
}
