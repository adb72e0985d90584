using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests.Agent;

/// <summary>Bad agent configs: a one-line error naming file:line and the key, exit code 2, never a stack trace.</summary>
[Collection(KernelCollection.Name)]
public class AgentConfigTests
{
    internal static string Object(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SharpBpf.slnx"))) return Path.Combine(dir.FullName, "testdata", file);
        throw new InvalidOperationException("repository root not found");
    }

    private static (string Path, CliResult Result) Run(string yaml)
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpbpf-agent-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        try
        {
            return (path, CliRunner.Run("agent", "--config", path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void AssertUsageError(string yaml, int line, string key, string detail)
    {
        var (path, r) = Run(yaml);
        Assert.Equal(2, r.ExitCode);
        string err = r.Stderr.TrimEnd('\n');
        Assert.DoesNotContain('\n', err);
        Assert.StartsWith($"sharpbpf: error: {path}:{line}: {key}", err);
        Assert.Contains(detail, err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void UnknownTopLevelKey() =>
        AssertUsageError("programs:\n  - tool: syscount\nlissten: 127.0.0.1:1\n", 3, "lissten", "unknown key");

    [Fact]
    public void OtlpEndpointMustBeAnHttpUrl() =>
        AssertUsageError("programs:\n  - tool: syscount\notlp:\n  endpoint: 127.0.0.1:4318\n", 4, "otlp.endpoint", "expected an http:// or https:// URL");

    [Fact]
    public void OtlpUnknownProtocol() =>
        AssertUsageError("programs:\n  - tool: syscount\notlp:\n  endpoint: http://127.0.0.1:4318\n  protocol: http/json\n", 5, "otlp.protocol", "unknown protocol 'http/json'");

    [Fact]
    public void OtlpBadInterval() =>
        AssertUsageError("programs:\n  - tool: syscount\notlp:\n  endpoint: http://127.0.0.1:4318\n  interval: 10ns\n", 5, "otlp.interval", "expected a duration");

    [Fact]
    public void OtlpUnknownKey() =>
        AssertUsageError("programs:\n  - tool: syscount\notlp:\n  endpoint: http://127.0.0.1:4318\n  timeout: 5s\n", 5, "otlp.timeout", "unknown key");

    [Fact]
    public void OtlpDefaultsAndSignalPath()
    {
        var c = SharpBpf.Cli.Agent.AgentConfig.Parse("programs:\n  - tool: syscount\notlp:\n  endpoint: http://127.0.0.1:4318\n  headers: { x-token: abc }\n", "a.yaml");
        Assert.Equal("http://127.0.0.1:4318/v1/metrics", c.Otlp!.Endpoint.ToString());
        Assert.False(c.Otlp.Grpc);
        Assert.Equal(TimeSpan.FromSeconds(15), c.Otlp.Interval);
        Assert.Equal([new("x-token", "abc")], c.Otlp.Headers);
        var g = SharpBpf.Cli.Agent.AgentConfig.Parse("programs:\n  - tool: syscount\notlp:\n  endpoint: http://collector:4317\n  protocol: grpc\n  interval: 500ms\n", "a.yaml");
        Assert.Equal("http://collector:4317/", g.Otlp!.Endpoint.ToString());
        Assert.True(g.Otlp.Grpc);
        Assert.Equal(TimeSpan.FromMilliseconds(500), g.Otlp.Interval);
        Assert.Null(SharpBpf.Cli.Agent.AgentConfig.Parse("programs:\n  - tool: syscount\n", "a.yaml").Otlp);
    }

    [Fact]
    public void BadListenAddress() =>
        AssertUsageError("listen: localhost\nprograms:\n  - tool: syscount\n", 1, "listen", "expected ADDRESS:PORT");

    [Fact]
    public void MissingPrograms() =>
        AssertUsageError("listen: 127.0.0.1:9999\n", 1, "programs", "missing");

    [Fact]
    public void UnknownTool() =>
        AssertUsageError("programs:\n  - tool: syscount\n  - tool: nosuchtool\n", 3, "programs[1].tool", "unknown tool 'nosuchtool'");

    [Fact]
    public void ToolAndObjectTogether() =>
        AssertUsageError("programs:\n  - tool: syscount\n    object: x.o\n", 2, "programs[0]", "exactly one of");

    [Fact]
    public void DuplicateName() =>
        AssertUsageError("programs:\n  - tool: syscount\n  - tool: syscount\n", 3, "programs[1].name", "used twice");

    [Fact]
    public void MissingObjectFile() =>
        AssertUsageError("programs:\n  - object: /nonexistent/x.bpf.o\n    metrics: []\n", 2, "programs[0].object", "no such file");

    [Fact]
    public void BadMetricType() =>
        AssertUsageError($"programs:\n  - object: {Object("agent_counts.bpf.o")}\n    metrics:\n      - name: m\n        map: counts\n        type: summary\n",
            6, "programs[0].metrics[0].type", "unknown type 'summary'");

    [Fact]
    public void BadDecoder() =>
        AssertUsageError($"programs:\n  - object: {Object("agent_counts.bpf.o")}\n    metrics:\n      - name: m\n        map: counts\n        type: counter\n        labels:\n          - name: x\n            decoder: rot13\n",
            9, "programs[0].metrics[0].labels[0].decoder", "unknown decoder");

    [Fact]
    public void BadPinValue() =>
        AssertUsageError("programs:\n  - tool: syscount\n    pin: maybe\n", 3, "programs[0].pin", "expected true or false");

    [Fact]
    public void InvalidYaml() =>
        AssertUsageError("programs:\n  - tool: [syscount\n", 3, "invalid YAML", "");

    [Fact]
    public void MissingConfigFile()
    {
        var r = CliRunner.Run("agent", "--config", "/nonexistent/agent.yaml");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("/nonexistent/agent.yaml: cannot read the config", r.Stderr);
    }

    [Fact]
    public void MapMissingFromObject() =>
        AssertUsageError($"programs:\n  - object: {Object("agent_counts.bpf.o")}\n    metrics:\n      - name: m\n        map: nosuchmap\n        type: gauge\n",
            4, "programs[0].metrics[0]", "the object has no map 'nosuchmap'");

    [Fact]
    public void KeyMemberMissingFromBtf()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        AssertUsageError($"programs:\n  - object: {Object("agent_counts.bpf.o")}\n    metrics:\n      - name: m\n        map: counts\n        type: counter\n        value: calls\n        labels:\n          - {{ name: pid, field: pid }}\n",
            4, "programs[0].metrics[0]", "has no member 'pid'");
    }
}
