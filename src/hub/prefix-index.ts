/**
 * Values filed under string prefixes, found by a topic in time that follows the topic's length, not the number of
 * prefixes. A radix tree: each edge holds a run of characters, so a node stands for a distinct prefix or a fork
 * between two, and a long prefix costs one node rather than one per character.
 */

interface Node<T> {
  /** The characters on the edge from the parent (empty at the root, which stands for the empty prefix). */
  label: string;
  /** By the first UTF-16 unit of their label, as `startsWith` compares. */
  children: Map<number, Node<T>> | undefined;
  values: Set<T> | undefined;
}

const leaf = <T>(label: string): Node<T> => ({ label, children: undefined, values: undefined });

/** How many leading UTF-16 units `label` shares with `text` from `at`. */
function common(label: string, text: string, at: number): number {
  let k = 0;
  while (k < label.length && at + k < text.length && label.charCodeAt(k) === text.charCodeAt(at + k)) k++;
  return k;
}

export class PrefixIndex<T> {
  private readonly root: Node<T> = leaf("");
  private nodes = 1;

  add(prefix: string, value: T): void {
    let node = this.root;
    for (let at = 0; at < prefix.length; ) {
      const first = prefix.charCodeAt(at);
      const child = node.children?.get(first);
      if (child === undefined) {
        const added = leaf<T>(prefix.slice(at));
        node.children = (node.children ?? new Map<number, Node<T>>()).set(first, added);
        this.nodes++;
        node = added;
        break;
      }
      const k = common(child.label, prefix, at);
      if (k < child.label.length) {
        // The prefix forks from (or ends inside) the edge: split it at the fork.
        const fork = leaf<T>(child.label.slice(0, k));
        child.label = child.label.slice(k);
        fork.children = new Map([[child.label.charCodeAt(0), child]]);
        node.children?.set(first, fork);
        this.nodes++;
      }
      node = node.children?.get(first) as Node<T>;
      at += k;
    }
    node.values = (node.values ?? new Set<T>()).add(value);
  }

  /** Removes `value` from `prefix`, and the nodes no prefix needs any more, so memory follows what is filed. */
  remove(prefix: string, value: T): void {
    const path: Node<T>[] = [this.root];
    let node = this.root;
    for (let at = 0; at < prefix.length; ) {
      const child = node.children?.get(prefix.charCodeAt(at));
      if (child === undefined || !prefix.startsWith(child.label, at)) return;
      node = child;
      path.push(node);
      at += child.label.length;
    }
    if (node.values?.delete(value) !== true) return;
    if (node.values.size === 0) node.values = undefined;
    this.prune(path);
  }

  /** Calls `visit` with every value filed under a prefix of `topic` (once per prefix it is filed under). */
  forEachMatch(topic: string, visit: (value: T) => void): void {
    let node = this.root;
    node.values?.forEach(visit);
    for (let at = 0; at < topic.length; ) {
      const child = node.children?.get(topic.charCodeAt(at));
      if (child === undefined || !topic.startsWith(child.label, at)) return;
      node = child;
      at += child.label.length;
      node.values?.forEach(visit);
    }
  }

  /** Nodes held, the root included: at most two for each distinct prefix filed. */
  nodeCount(): number {
    return this.nodes;
  }

  /** Drops the end of `path` if it holds nothing, then folds a node left with no values and one child into it. */
  private prune(path: Node<T>[]): void {
    const node = path[path.length - 1] as Node<T>;
    const parent = path[path.length - 2];
    if (parent === undefined) return;
    if (node.values === undefined && node.children === undefined) {
      parent.children?.delete(node.label.charCodeAt(0));
      if (parent.children?.size === 0) parent.children = undefined;
      this.nodes--;
      this.fold(parent, path[path.length - 3]);
    } else this.fold(node, parent);
  }

  /** Merges `node` with its only child when `node` holds no values (the root stays: it is the empty prefix). */
  private fold(node: Node<T>, parent: Node<T> | undefined): void {
    if (parent === undefined || node.values !== undefined || node.children?.size !== 1) return;
    const only = node.children.values().next().value as Node<T>;
    only.label = node.label + only.label;
    parent.children?.set(only.label.charCodeAt(0), only);
    this.nodes--;
  }
}
