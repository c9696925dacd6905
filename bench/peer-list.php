<?php
/*
 * bench/peer-list.php: the benchmark's peer, the same page as
 * GET /api/products?category=garden-tools the way a PHP shop would serve
 * it behind nginx and PHP-FPM: get-or-set in memcached (php-memcached,
 * persistent connection), on a miss the same three queries on the same
 * tables through mysqli (persistent link), the same JSON.  Started by
 * scripts/bench only (a private php-fpm: 4 children, opcache on), never as
 * a service; it is not part of the product.
 *
 * Environment (php-fpm's pool): PEER_SOCKET, PEER_USER, PEER_PASSWORD,
 * PEER_DB, PEER_MEMCACHED (host:port), PEER_TTL.
 */
$key = 'peer:v1:products:c=garden-tools:p=1:n=20:s=id';
$mc = new Memcached('peer');
if (!$mc->getServerList()) {
	[$host, $port] = explode(':', getenv('PEER_MEMCACHED'));
	$mc->addServer($host, (int)$port);
}
header('Content-Type: application/json');
$body = $mc->get($key);
if ($body !== false) {
	header('X-Cache: HIT');
	echo $body;
	return;
}
$db = new mysqli('p:localhost', getenv('PEER_USER'), getenv('PEER_PASSWORD'),
    getenv('PEER_DB'), 0, getenv('PEER_SOCKET'));
$slug = 'garden-tools';
$st = $db->prepare('SELECT id FROM categories WHERE slug = ?');
$st->bind_param('s', $slug);
$st->execute();
$cat = $st->get_result()->fetch_row()[0];
$st = $db->prepare('SELECT COUNT(*) FROM products WHERE category_id = ?');
$st->bind_param('i', $cat);
$st->execute();
$total = $st->get_result()->fetch_row()[0];
$st = $db->prepare('SELECT p.id, p.sku, p.name, c.slug, p.price_cents, p.stock'
    . ' FROM products p JOIN categories c ON c.id = p.category_id'
    . ' WHERE p.category_id = ? ORDER BY p.id LIMIT 20 OFFSET 0');
$st->bind_param('i', $cat);
$st->execute();
$items = [];
foreach ($st->get_result()->fetch_all() as $r)
	$items[] = ['id' => $r[0], 'sku' => $r[1], 'name' => $r[2],
	    'category' => $r[3], 'price_cents' => $r[4], 'stock' => $r[5]];
$body = json_encode(['items' => $items, 'page' => 1, 'per_page' => 20,
    'total' => $total], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
$mc->set($key, $body, (int)getenv('PEER_TTL'));
header('X-Cache: MISS');
echo $body;
