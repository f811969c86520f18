-- the naive pull of bench/feed for random skewed readers; written by make bench
\set r random(963, 20962)
SELECT p.post_id, p.author_id, u.username, p.caption, p.created_at
  FROM posts p JOIN users u ON u.user_id = p.author_id
 WHERE p.author_id IN (SELECT followee_id FROM follows WHERE follower_id = :r)
 ORDER BY p.created_at DESC LIMIT 10;
