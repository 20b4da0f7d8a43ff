<?php
// Publishes updates with Symfony's Mercure component, as a Symfony or API Platform application does.
// Usage: php symfony-publish.php <hub url> <jwt> <updates as JSON: [{topics, data, private, id, type, retry}]>
// Prints the id the hub answered for each update, one a line; a failure exits 1 with its message on stderr.
declare(strict_types=1);

require_once 'Symfony/Component/Mercure/autoload.php';

use Symfony\Component\Mercure\Hub;
use Symfony\Component\Mercure\Jwt\StaticTokenProvider;
use Symfony\Component\Mercure\Update;

[, $url, $jwt, $json] = $argv;
$hub = new Hub($url, new StaticTokenProvider($jwt));
try {
    foreach (json_decode($json, true, 512, JSON_THROW_ON_ERROR) as $u) {
        $update = new Update($u['topics'], $u['data'] ?? '', $u['private'] ?? false, $u['id'] ?? null, $u['type'] ?? null, $u['retry'] ?? null);
        echo $hub->publish($update), "\n";
    }
} catch (Throwable $e) {
    $previous = $e->getPrevious();
    fwrite(STDERR, $e->getMessage() . ($previous ? ': ' . $previous->getMessage() : '') . "\n");
    exit(1);
}
