-- Correlation runs for every incident a node records, and first asks whether reports of at least
-- two teams share an observable; usually they do not (a team's own incidents share scanners and
-- indicators all the time). With the team in the index that question is two index probes, however
-- many reports carry the observable; without it, every such report was read on every creation.
CREATE INDEX activity_observable_value_team ON activity_observable (kind, value, team);
DROP INDEX activity_observable_value;
