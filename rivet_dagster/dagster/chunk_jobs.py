"""Chunked exports around the asset: planning, reconcile and repair.

- Planning (a sensor, default stopped, and `rivet-dagster plan`) adds one dynamic partition
  per non-empty chunk range; it is idempotent and never renames or moves a key.
- Reconcile (a job) re-counts every materialized partition's range at the source and records
  a `rows_match_source` check evaluation per partition: the verified boundary in the UI.
- Repair (a sensor, default stopped) requests a run of exactly the partitions whose latest
  check failed after their latest materialization.
"""

import datetime as dt
from typing import Any

import dagster as dg

from rivet_dagster.config.export import ExportConfig
from rivet_dagster.config.root import RivetConfig
from rivet_dagster.dagster.metadata import latest_metadata
from rivet_dagster.dagster.partitions import partitions_def_name
from rivet_dagster.dagster.verification import CHECK_NAME
from rivet_dagster.engine.chunk_planner import ChunkPlan, chunk_sql, plan_chunks
from rivet_dagster.engine.chunk_ranges import parse_key
from rivet_dagster.errors import RivetError
from rivet_dagster.sources import create_source
from rivet_dagster.sources.connection_url import pool_name

DEFAULT_INTERVAL_S = 300


def _suffix(key: dg.AssetKey) -> str:
    return "__".join(key.path)


def plan_export(config: RivetConfig, export: ExportConfig, key: dg.AssetKey,
                instance: dg.DagsterInstance) -> ChunkPlan:
    """Plan against the partitions the instance already has (nothing is added here)."""
    existing = instance.get_dynamic_partitions(partitions_def_name(key))
    return plan_chunks(create_source(config.source), config.source.type, export, existing)


def apply_plan(plan: ChunkPlan, key: dg.AssetKey, instance: dg.DagsterInstance) -> None:
    """Add the new keys and record the plan's diagnostics as an observation."""
    if plan.new_keys:
        instance.add_dynamic_partitions(partitions_def_name(key), plan.new_keys)
    instance.report_runless_asset_event(dg.AssetObservation(
        asset_key=key, metadata=plan_metadata(plan)))


def apply_pool_limit(config: RivetConfig, export: ExportConfig,
                     instance: dg.DagsterInstance) -> tuple[str, int]:
    """Cap the source's pool at the export's `parallel` unless a limit is already set."""
    pool = export.source_group or pool_name(config.source)
    storage = instance.event_log_storage
    if pool in storage.get_concurrency_keys():
        return pool, storage.get_concurrency_info(pool).slot_count
    storage.set_concurrency_slots(pool, export.parallel)
    return pool, export.parallel


def plan_metadata(plan: ChunkPlan) -> dict[str, Any]:
    return {"rivet/plan": dg.MetadataValue.json(plan.diagnostics),
            "rivet/plan_partitions": len(plan.ranges), "rivet/plan_new_partitions": len(plan.new_keys)}


def build_plan_sensor(config: RivetConfig, export: ExportConfig,
                      key: dg.AssetKey) -> dg.SensorDefinition:
    interval = (export.dagster.sensor_interval_s or config.dagster.sensor_interval_s
                or DEFAULT_INTERVAL_S)

    @dg.sensor(name=f"rivet_plan__{_suffix(key)}", asset_selection=[key],
               minimum_interval_seconds=interval, default_status=dg.DefaultSensorStatus.STOPPED,
               description=f"Plans chunk partitions of {key.to_user_string()} and requests a run "
                           "for each new one.")
    def _plan(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        try:
            plan = plan_export(config, export, key, context.instance)
        except RivetError as exc:
            return dg.SkipReason(f"planning failed: {exc}")
        if not plan.new_keys:
            return dg.SkipReason(f"no new chunks ({len(plan.ranges)} planned, all present)")
        parts = dg.DynamicPartitionsDefinition(name=partitions_def_name(key))
        return dg.SensorResult(
            run_requests=[dg.RunRequest(partition_key=k, run_key=f"{export.name}:{k}",
                                        asset_selection=[key]) for k in plan.new_keys],
            dynamic_partitions_requests=[parts.build_add_request(plan.new_keys)],
            asset_events=[dg.AssetObservation(asset_key=key, metadata=plan_metadata(plan))])

    return _plan


def reconcile_partitions(config: RivetConfig, export: ExportConfig, key: dg.AssetKey,
                         instance: dg.DagsterInstance) -> list[dg.AssetCheckEvaluation]:
    """One check evaluation per materialized partition: source rows now vs rows written."""
    source = create_source(config.source)
    evaluations = []
    for partition in sorted(instance.get_materialized_partitions(key)):
        metadata = latest_metadata(instance, key, partition)
        written = metadata.get("dagster/row_count")
        window = metadata.get("rivet/range")
        if written is None or window is None:
            continue
        column = window["column"]
        _, count_sql, params = chunk_sql(config.source.type, export.base_query(), column,
                                         parse_key(partition))
        now = int(source.scalar(count_sql, params, export=export.name))
        evaluations.append(dg.AssetCheckEvaluation(
            asset_key=key, check_name=CHECK_NAME, passed=now == written, partition=partition,
            metadata={"source_rows": now, "written_rows": written, "reconciled_at":
                      dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}))
    return evaluations


def build_reconcile_job(config: RivetConfig, export: ExportConfig,
                        key: dg.AssetKey) -> dg.JobDefinition:
    @dg.op(name=f"rivet_reconcile_op__{_suffix(key)}")
    def _reconcile(context: dg.OpExecutionContext) -> None:
        evaluations = reconcile_partitions(config, export, key, context.instance)
        for evaluation in evaluations:
            context.log_event(evaluation)
        failed = [e.partition for e in evaluations if not e.passed]
        context.log.info(f"rivet: reconciled {len(evaluations)} partition(s) of "
                         f"{key.to_user_string()}: {len(failed)} mismatch(es) {failed or ''}")
        context.log_event(dg.AssetObservation(asset_key=key, metadata={
            "rivet/verified_partitions": len(evaluations) - len(failed),
            "rivet/mismatched_partitions": dg.MetadataValue.json(failed)}))

    @dg.job(name=f"rivet_reconcile__{_suffix(key)}",
            description=f"Re-counts every materialized partition of {key.to_user_string()} at "
                        "the source and records the rows_match_source check per partition.")
    def _job() -> None:
        _reconcile()

    return _job


def failed_partitions(instance: dg.DagsterInstance, key: dg.AssetKey) -> list[tuple[str, int]]:
    """(partition, check event id) whose latest check failed after its latest materialization."""
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )
    check_key = dg.AssetCheckKey(key, CHECK_NAME)
    out = []
    for info in instance.event_log_storage.get_asset_check_partition_info([check_key]):
        if (info.latest_execution_status == AssetCheckExecutionRecordStatus.FAILED
                and info.latest_check_event_storage_id is not None
                and info.latest_check_event_storage_id > (info.latest_materialization_storage_id or 0)):
            out.append((info.partition_key, info.latest_check_event_storage_id))
    return sorted(out)


def build_repair_sensor(config: RivetConfig, export: ExportConfig,
                        key: dg.AssetKey) -> dg.SensorDefinition:
    @dg.sensor(name=f"rivet_repair__{_suffix(key)}", asset_selection=[key],
               minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
               description=f"Re-materializes the partitions of {key.to_user_string()} whose "
                           "rows_match_source check failed.")
    def _repair(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        failed = failed_partitions(context.instance, key)
        if not failed:
            return dg.SkipReason("every checked partition passed")
        return dg.SensorResult(run_requests=[
            dg.RunRequest(partition_key=p, run_key=f"repair:{p}:{event_id}", asset_selection=[key])
            for p, event_id in failed])

    return _repair
