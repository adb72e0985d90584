using System.Runtime.ExceptionServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace SharpBpf.Cli.Agent;

/// <summary>
/// The agent as a Microsoft.Extensions.Hosting service: start loads and attaches every configured program, opens
/// the Prometheus endpoint and (when configured) the OTLP exporter; stop (SIGINT/SIGTERM through the host's
/// lifetime, or systemd's stop) ends serving, exports once more and detaches everything. When serving fails the
/// service stops the host and <see cref="Run"/> rethrows the failure.
/// </summary>
internal sealed class AgentService(AgentConfig config, IHostApplicationLifetime lifetime) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private MetricsAgent? _agent;
    private OtlpExport? _otlp;
    private Task _serving = Task.CompletedTask;

    /// <summary>Why serving ended early, if it did.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>Runs the agent under a generic host until <paramref name="ct"/> is cancelled or the host is told to
    /// stop (SIGTERM, systemd). Start failures and serving failures are rethrown as they are.</summary>
    public static void Run(AgentConfig config, CancellationToken ct)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = "sharpbpf-agent" });
        builder.Services.AddSystemd(); // Type=notify readiness and stop when systemd started us; nothing otherwise
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton<AgentService>();
        builder.Services.AddHostedService(s => s.GetRequiredService<AgentService>());
        using var host = builder.Build();
        var service = host.Services.GetRequiredService<AgentService>();
        host.RunAsync(ct).GetAwaiter().GetResult(); // disposes the host's services when it returns
        if (service.Failure is { } failure) ExceptionDispatchInfo.Throw(failure);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _agent = MetricsAgent.Start(config);
        try
        {
            if (config.Otlp is { } otlp) _otlp = new OtlpExport(otlp, _agent.Metrics);
        }
        catch
        {
            Dispose();
            throw;
        }
        _serving = ServeAsync(_agent);
        Console.Error.WriteLine($"Serving metrics on {_agent.Prefix}metrics ({config.Programs.Count} programs)" +
            (config.Otlp is { } o ? $", pushing OTLP to {o.Endpoint} every {o.Interval.TotalSeconds:0.###} s" : "") + "... Hit Ctrl+C to end.");
        return Task.CompletedTask;
    }

    private async Task ServeAsync(MetricsAgent agent)
    {
        try
        {
            await agent.ServeAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!_stop.IsCancellationRequested)
        {
            Failure = e;
            lifetime.StopApplication();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _serving.ConfigureAwait(false);
        Dispose();
    }

    public void Dispose()
    {
        _otlp?.Dispose(); // the last export happens here, before the maps go away
        _otlp = null;
        _agent?.Dispose();
        _agent = null;
    }
}
