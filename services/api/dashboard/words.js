// Words both pages show: departments by their Chinese short names.
"use strict";

const DEPARTMENTS = {
  "public-security": "公安",
  health: "卫健",
  "civil-affairs": "民政",
  housing: "住建",
  commerce: "商务",
  utilities: "水务",
  grid: "网格",
  datong: "平台派生", // what the hub derives: counts, alerts, provenance
};
