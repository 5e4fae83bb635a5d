export interface BrokerConfig {
  port: number;
  controllerPort: number;
  /** Where the broker keeps its partitions and the KRaft metadata log. */
  logDir: string;
}

/** server.properties for one node that is both broker and KRaft controller, on loopback only. */
export function serverProperties(config: BrokerConfig): string {
  const host = '127.0.0.1';
  const lines = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${config.controllerPort}`,
    `listeners=PLAINTEXT://${host}:${config.port},CONTROLLER://${host}:${config.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${config.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${escapeProperty(config.logDir)}`,
    'num.partitions=4',
    // Internal topics default to replication factor 3; with one broker they could never be
    // created and consumer groups would wait forever for a coordinator.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // No other members will join a local group; don't make the first consumer wait 3 s for them.
    'group.initial.rebalance.delay.ms=0',
    // Topics are created deliberately (partitions, retention); a typo must not make a new one.
    'auto.create.topics.enable=false',
  ];
  return `${lines.join('\n')}\n`;
}

/** log4j2 configuration: warnings and errors only, to one file, so a healthy broker stays quiet. */
export function log4jYaml(logFile: string): string {
  // A JSON string is a valid YAML double-quoted scalar, whatever the path contains.
  return `Configuration:
  Appenders:
    File:
      name: file
      fileName: ${JSON.stringify(logFile)}
      append: true
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: file
`;
}

function escapeProperty(value: string): string {
  return value.replaceAll('\\', '\\\\');
}
