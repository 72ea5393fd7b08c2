"""`RivetExportsComponent`: the same factory, for `dg` projects (defs.yaml).

Thin by design (as dagster-sling/dlt/dbt do it): all behaviour lives in `build_defs`; the
component only resolves the YAML file's path against the defs.yaml folder.
"""

from pathlib import Path

import dagster as dg
from dagster import ComponentLoadContext, Scaffolder, ScaffoldRequest, scaffold_component
from pydantic import Field

from rivet_dagster.dagster.factory import build_defs

_TEMPLATE = """\
# Rivet exports: see docs/config.md. ${NAME} placeholders come from `params:` or the environment.
source:
  type: postgres
  url_env: DATABASE_URL
exports:
  - name: my_table
    table: public.my_table
    format: parquet
    destination: {type: local, path: ./out}
"""


class RivetExportsScaffolder(Scaffolder):
    """`dg scaffold defs rivet_dagster.RivetExportsComponent <dir>`: defs.yaml + rivet.yaml."""

    def scaffold(self, request: ScaffoldRequest) -> None:
        scaffold_component(request, {"config_file": "rivet.yaml"})
        target = Path(request.target_path) / "rivet.yaml"
        if not target.exists():
            target.write_text(_TEMPLATE)


@dg.scaffold_with(RivetExportsScaffolder)
class RivetExportsComponent(dg.Component, dg.Resolvable, dg.Model):
    """A Rivet YAML file of exports, one asset per export."""

    config_file: str = Field(description="The Rivet YAML file, relative to this defs.yaml.")
    params: dict[str, str] = Field(default_factory=dict,
                                   description="Values for ${NAME} placeholders in the file.")

    def build_defs(self, context: ComponentLoadContext) -> dg.Definitions:
        return build_defs(Path(context.path) / self.config_file, params=self.params)
