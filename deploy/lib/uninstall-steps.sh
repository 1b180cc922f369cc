# shellcheck shell=bash
# --uninstall: removes what the installer created, in reverse order. Kept unless --purge:
# the source bucket (your archives), the Artifact Registry repository (the images your
# services run) and the runtime service account (your services still run as it). Never
# removed: the Firestore database and its index (it may hold more than dropdeploy's data), the APIs,
# the Cloud Storage service agent's pubsub.publisher grant (every storage trigger in the
# project needs it) and the services dropdeploy deployed.

# remove WHAT PROBE_CMD... -- DELETE_CMD...: deletes the resource if it exists.
remove() {
  local what=$1
  shift
  local probe_cmd=() delete_cmd=()
  while (($#)) && [[ $1 != -- ]]; do
    probe_cmd+=("$1")
    shift
  done
  shift
  delete_cmd=("$@")
  if probe "$what" "${probe_cmd[@]}"; then
    mutate delete "$what" "${delete_cmd[@]}"
  elif ((DRY_RUN)); then
    mutate delete "$what (if present)" "${delete_cmd[@]}"
  else
    say "absent: $what"
  fi
}

remove_triggers() {
  find_upload_trigger_location
  local name location
  for name in "$TRIGGER_UPLOADS" "$TRIGGER_BUILDS"; do
    location=$REGION
    [[ $name == "$TRIGGER_UPLOADS" ]] && location=$UPLOAD_TRIGGER_LOCATION
    # Deleting a trigger deletes the Pub/Sub subscription Eventarc made for it.
    remove "trigger $name" gcloud eventarc triggers describe "$name" "--location=$location" "--project=$PROJECT" --format=none \
      -- gcloud eventarc triggers delete "$name" "--location=$location" "--project=$PROJECT" --quiet
  done
}

remove_scheduler() {
  remove "scheduler job $SCHEDULER_JOB" gcloud scheduler jobs describe "$SCHEDULER_JOB" "--location=$REGION" "--project=$PROJECT" --format=none \
    -- gcloud scheduler jobs delete "$SCHEDULER_JOB" "--location=$REGION" "--project=$PROJECT" --quiet
}

remove_functions() {
  local name
  for name in "$FN_EVENTS" "$FN_API" "$FN_RECONCILE"; do
    remove "function $name" gcloud functions describe "$name" "--region=$REGION" "--project=$PROJECT" --format=none \
      -- gcloud functions delete "$name" "--region=$REGION" "--project=$PROJECT" --quiet
  done
}

remove_topics() {
  remove "subscription $DLQ_SUB" gcloud pubsub subscriptions describe "$DLQ_SUB" "--project=$PROJECT" --format=none \
    -- gcloud pubsub subscriptions delete "$DLQ_SUB" "--project=$PROJECT" --quiet
  local topic
  for topic in "$STATUS_TOPIC" "$DLQ_TOPIC"; do
    remove "topic $topic" gcloud pubsub topics describe "$topic" "--project=$PROJECT" --format=none \
      -- gcloud pubsub topics delete "$topic" "--project=$PROJECT" --quiet
  done
  # cloud-builds may have been there before dropdeploy, for someone else: only ours goes.
  local owner=""
  if ((DRY_RUN)); then
    say "check: who created topic cloud-builds (would run: $(shell_quote gcloud pubsub topics describe cloud-builds "--project=$PROJECT" '--format=value(labels.managed-by)'))"
    mutate delete "topic cloud-builds (if labelled managed-by=dropdeploy)" gcloud pubsub topics delete cloud-builds "--project=$PROJECT" --quiet
  elif probe "topic cloud-builds" gcloud pubsub topics describe cloud-builds "--project=$PROJECT" --format=none; then
    owner=$(query gcloud pubsub topics describe cloud-builds "--project=$PROJECT" '--format=value(labels.managed-by)')
    if [[ $owner == dropdeploy ]]; then
      mutate delete "topic cloud-builds" gcloud pubsub topics delete cloud-builds "--project=$PROJECT" --quiet
    else
      say "keep: topic cloud-builds (dropdeploy did not create it)"
    fi
  else
    say "absent: topic cloud-builds"
  fi
}

remove_roles() {
  local controller="serviceAccount:$SA_CONTROLLER" builder="serviceAccount:$SA_BUILDER" trigger="serviceAccount:$SA_TRIGGER"
  # Project bindings outlive a deleted service account (as "deleted:serviceAccount:…"): remove them first.
  local role
  revoke project "$PROJECT" roles/datastore.user "$controller"
  revoke project "$PROJECT" "projects/$PROJECT/roles/$ROLE_CONTROLLER" "$controller"
  revoke project "$PROJECT" "projects/$PROJECT/roles/$ROLE_ROLLOUT" "$controller"
  # An install by an older installer granted these instead of the custom role.
  for role in "${LEGACY_CONTROLLER_ROLES[@]}"; do
    revoke_if_granted project "$PROJECT" "$role" "$controller"
  done
  revoke project "$PROJECT" roles/logging.logWriter "$builder"
  revoke project "$PROJECT" roles/eventarc.eventReceiver "$trigger"
  # Bindings on resources that stay (bucket, repository, runtime account); the others go with their resource.
  if ((!PURGE)); then
    if probe "bucket gs://$BUCKET" gcloud storage buckets describe "gs://$BUCKET" "--project=$PROJECT" --format=none; then
      revoke bucket "gs://$BUCKET" roles/storage.objectViewer "$builder"
      revoke bucket "gs://$BUCKET" roles/storage.objectViewer "$controller"
    fi
    if probe "repository $REPOSITORY" gcloud artifacts repositories describe "$REPOSITORY" "--location=$REGION" "--project=$PROJECT" --format=none; then
      revoke repository "$REPOSITORY" roles/artifactregistry.writer "$builder"
    fi
    if probe "service account $SA_RUNTIME" gcloud iam service-accounts describe "$SA_RUNTIME" "--project=$PROJECT" --format=none; then
      revoke service-account "$SA_RUNTIME" roles/iam.serviceAccountUser "$controller"
    fi
  fi
}

# remove_custom_role ID: deletes the project custom role unless it is absent or deleted already.
remove_custom_role() {
  local id=$1
  custom_role_state "$id"
  if ((DRY_RUN)); then
    mutate delete "custom role $id (if present)" gcloud iam roles delete "$id" "--project=$PROJECT" --format=none
  elif [[ $ROLE_STATE == active ]]; then
    mutate delete "custom role $id" gcloud iam roles delete "$id" "--project=$PROJECT" --format=none
  else
    say "absent: custom role $id"
  fi
}

remove_custom_roles() {
  remove_custom_role "$ROLE_CONTROLLER"
  remove_custom_role "$ROLE_ROLLOUT"
  # Its only binding was on the API service, deleted with the function.
  remove_custom_role "$ROLE_API_POLICY"
}

remove_service_accounts() {
  local email accounts=("$SA_CONTROLLER" "$SA_BUILDER" "$SA_TRIGGER" "$SA_SCHEDULER")
  ((PURGE)) && accounts+=("$SA_RUNTIME")
  for email in "${accounts[@]}"; do
    remove "service account $email" gcloud iam service-accounts describe "$email" "--project=$PROJECT" --format=none \
      -- gcloud iam service-accounts delete "$email" "--project=$PROJECT" --quiet
  done
  ((PURGE)) || say "keep: service account $SA_RUNTIME (services dropdeploy deployed run as it; --purge deletes it)"
}

purge_storage() {
  if ((!PURGE)); then
    say "keep: bucket gs://$BUCKET and repository $REPOSITORY (--purge deletes them, with every archive and image)"
    return 0
  fi
  remove "bucket gs://$BUCKET and every archive in it" \
    gcloud storage buckets describe "gs://$BUCKET" "--project=$PROJECT" --format=none \
    -- gcloud storage rm --recursive "gs://$BUCKET" "--project=$PROJECT" --quiet
  remove "repository $REPOSITORY and every image in it" \
    gcloud artifacts repositories describe "$REPOSITORY" "--location=$REGION" "--project=$PROJECT" --format=none \
    -- gcloud artifacts repositories delete "$REPOSITORY" "--location=$REGION" "--project=$PROJECT" --quiet
}

run_uninstall() {
  remove_triggers
  remove_scheduler
  remove_functions
  remove_topics
  remove_roles
  remove_custom_roles
  remove_service_accounts
  purge_storage
  say "keep: Firestore database $FIRESTORE_DB and its index (release history; delete it with: $(shell_quote gcloud firestore databases delete "--database=$FIRESTORE_DB" "--project=$PROJECT"))"
}
