"""The scale specification of a form of our bank as YAML (the DESIGN.md contract), so that a CSV
export can be analysed with ``healing-survey analyze DATA.csv --scales SPEC.yaml``."""

from __future__ import annotations

import yaml

from items import Form


def scale_spec_yaml(form: Form) -> str:
    """The form's scales (one per construct, reverse-keyed items marked ``-``) and range.

    Examples
    --------
    >>> from items import load_bank
    >>> text = scale_spec_yaml(load_bank().form("clinician-self"))
    >>> text.splitlines()[3]
    'range: [1, 5]'
    >>> from items import ScaleSpec
    >>> spec = ScaleSpec.from_mapping(yaml.safe_load(text))
    >>> spec == load_bank().form("clinician-self").scale_spec()
    True
    """
    spec = form.scale_spec().to_dict()
    low, high = spec["range"]
    lines = [
        f"# Scale specification of the {form.id} form ({form.title}).",
        "# Analyse a CSV export with: healing-survey analyze DATA.csv --scales THIS.yaml",
        "#   --missing-code -7 --missing-code -9   (does not apply, skipped)",
        f"range: [{low}, {high}]",
        "scales:",
    ]
    for name, items in spec["scales"].items():
        lines.append(f"  {name}: [{', '.join(items)}]")
    text = "\n".join(lines) + "\n"
    yaml.safe_load(text)  # the flow lists must stay valid YAML for any item id
    return text
