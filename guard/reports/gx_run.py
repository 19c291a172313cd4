"""Run the derived expectation suite with Great Expectations and build its Data Docs.

A file Data Context lives in `<out>/gx` (suites, validation results: reusable artifacts) and
its Data Docs site in `<out>/data_docs/index.html`. Both are rebuilt from scratch on every
run. Nothing here talks to the network: GX 1.x sends no usage statistics unless asked, and
`GX_ANALYTICS_ENABLED` is set to false before GX is imported for good measure. The Data
Docs pages as GX writes them load styles, scripts and a logo from public servers when
opened; `offline.make_offline` rewrites them to make no network request.
"""

from __future__ import annotations

import math
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.core.expect_column_quantile_values_to_be_between import (
    ExpectColumnQuantileValuesToBeBetween,
)

from guard.reports.gx_suite import ExpectationSpec, GxOutcome, GxResult
from guard.reports.jsonsafe import finite, json_safe
from guard.reports.offline import make_offline

SITE = "guard"


class GuardExpectColumnQuantileValuesToBeBetween(ExpectColumnQuantileValuesToBeBetween):
    """The GX expectation with a JSON-safe `success`.

    GX 1.24 returns `numpy.bool` there, which its own validation-results store cannot
    serialize ("Object of type bool is not JSON serializable"); this casts it.
    """

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any] | None = None,
        execution_engine: Any = None,
    ) -> Any:
        out = super()._validate(metrics, runtime_configuration, execution_engine)
        out["success"] = bool(out["success"])
        return out


_CLASSES: dict[str, type[Any]] = {
    "ExpectColumnQuantileValuesToBeBetween": GuardExpectColumnQuantileValuesToBeBetween,
}


def run_suite(
    out_dir: Path,
    name: str,
    frame: pd.DataFrame,
    suite: list[ExpectationSpec],
    show_values: bool,
    meta: dict[str, Any] | None = None,
) -> GxOutcome:
    """Validate the frame against the suite; build the Data Docs (made offline). `meta` goes
    on the suite (e.g. the contract rules the guard enforces itself)."""
    out_dir = out_dir.resolve()
    context_dir, site_dir = out_dir / "gx", out_dir / "data_docs"
    for stale in (context_dir, site_dir):
        shutil.rmtree(stale, ignore_errors=True)
    results: list[GxResult] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context = gx.get_context(mode="file", project_root_dir=out_dir)
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        for site in list(context.list_data_docs_sites()):
            context.delete_data_docs_site(site)
        context.add_data_docs_site(
            SITE,
            {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(site_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        if suite and not frame.empty:
            source = context.data_sources.add_pandas("drift_report")
            asset = source.add_dataframe_asset("records")
            batch = asset.add_batch_definition_whole_dataframe("all")
            gx_suite = context.suites.add(gx.ExpectationSuite(name=name, meta=meta))
            by_id: dict[str, ExpectationSpec] = {}
            for spec in suite:
                added = gx_suite.add_expectation(_expectation(spec))
                by_id[str(added.id)] = spec
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=gx_suite)
            )
            result_format: dict[str, Any] = (
                {"result_format": "SUMMARY"}
                if show_values
                else {"result_format": "BASIC", "partial_unexpected_count": 0}
            )
            run = definition.run(batch_parameters={"dataframe": frame}, result_format=result_format)
            results = _results(run, by_id, show_values)
        context.build_data_docs(site_names=[SITE])
    make_offline(site_dir)
    return GxOutcome(results, site_dir / "index.html", context_dir)


def _expectation(spec: ExpectationSpec) -> Any:
    cls = _CLASSES.get(spec.type) or getattr(gxe, spec.type)
    return cls(column=spec.column, **spec.kwargs)


def _results(run: Any, by_id: dict[str, ExpectationSpec], show_values: bool) -> list[GxResult]:
    out: list[GxResult] = []
    for r in run.results:
        config = r.expectation_config
        spec = by_id.get(str(config.id))
        result: dict[str, Any] = r.result or {}
        error = None
        if r.exception_info and r.exception_info.get("raised_exception"):
            error = str(r.exception_info.get("exception_message") or "exception")
        out.append(
            GxResult(
                column=str(config.kwargs.get("column")),
                expectation=config.type.removeprefix("guard_"),
                source=spec.source if spec else "contract",
                success=bool(r.success),
                observed=_observed(result.get("observed_value"), show_values),
                unexpected_count=_int(result.get("unexpected_count")),
                error=error,
            )
        )
    return out


def _observed(value: Any, show_values: bool) -> Any:
    """Numbers and quantiles pass; anything that could carry record values needs show_values.

    Non-finite numbers become None: GX's quantiles of a column with no usable value (a field
    renamed, sent as a string, or absent everywhere) are NaN, which JSON cannot carry.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return finite(value)
    if hasattr(value, "item"):  # numpy scalar
        return _observed(value.item(), show_values)
    if isinstance(value, dict) and "quantiles" in value:
        return {
            "quantiles": [finite(q) for q in value.get("quantiles") or []],
            "values": [finite(v) for v in value.get("values") or []],
        }
    return json_safe(value) if show_values else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if math.isfinite(value) else None
