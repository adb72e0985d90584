using System.CommandLine;
using SharpBpf.Cli.Agent;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf agent --config agent.yaml</c>: a Prometheus exporter of BPF map contents (like Cloudflare's
/// ebpf_exporter). Runs until SIGINT/SIGTERM, then detaches everything and exits 0.</summary>
internal static class AgentCommand
{
    public static Command Build()
    {
        var config = new Option<string>("--config", "-c") { Description = "The agent's YAML config", Required = true };
        var cmd = new Command("agent", """
            Load BPF programs (built-in tools or .bpf.o files) and export their maps as Prometheus metrics on /metrics
            (default 127.0.0.1:9435), with /healthz. SIGINT/SIGTERM detach everything; maps of programs with
            'pin: true' stay pinned under /sys/fs/bpf/sharpbpf-agent/NAME so a restart keeps counting.

            Runs as a generic-host service (systemd Type=notify aware). With 'otlp' the same metrics are also pushed
            to an OpenTelemetry collector.

            Example agent.yaml:
              listen: 127.0.0.1:9435
              otlp:                     # optional
                endpoint: http://127.0.0.1:4318   # /v1/metrics is added for http/protobuf
                protocol: http/protobuf # or grpc
                interval: 15s
              programs:
                - tool: syscount        # syscalls_total{syscall}
                - tool: biolatency      # bio_latency_seconds histogram
                - name: mine
                  object: ./counts.bpf.o
                  pin: true
                  metrics:
                    - name: events
                      type: counter     # or gauge, histogram (u64 log2 slot array)
                      map: counts
                      labels:
                        - { name: comm, field: comm }
                        - { name: syscall, field: nr, decoder: syscall }
                      value: count

            Example:
              sharpbpf agent --config agent.yaml
            """) { config };
        Tools.ToolRunner.SetAction(cmd, (p, ct) =>
        {
            AgentService.Run(AgentConfig.Load(p.GetValue(config)!), ct);
            return Cli.ExitOk;
        });
        return cmd;
    }
}
