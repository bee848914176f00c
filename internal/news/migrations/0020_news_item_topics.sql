-- The topics of each item, one row per item and topic, so that a topic's
-- page finds and counts its news by an index. news_items.topics stays the
-- item's own list (its order, what the forms and the digest read); the
-- rules write both in the same transaction.
CREATE TABLE news_item_topics (
    item_id TEXT NOT NULL REFERENCES news_items (id) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    PRIMARY KEY (item_id, topic)
);
CREATE INDEX news_item_topics_topic ON news_item_topics (topic, item_id);
-- The items written before this table.
-- +postgres
INSERT INTO news_item_topics (item_id, topic)
    SELECT DISTINCT id, t FROM news_items, unnest(string_to_array(topics, ',')) AS t WHERE t <> '';
-- +sqlite
WITH RECURSIVE split(id, topic, rest) AS (
    SELECT id, '', topics || ',' FROM news_items
    UNION ALL
    SELECT id, substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1) FROM split WHERE rest <> ''
)
INSERT INTO news_item_topics (item_id, topic) SELECT DISTINCT id, topic FROM split WHERE topic <> '';
-- +end
