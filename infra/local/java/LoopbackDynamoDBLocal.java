/*
 * Starts AWS's DynamoDB Local like its own ServerRunner does, but listening on 127.0.0.1 only.
 *
 * DynamoDB Local has no option for the listen address: it hands Jetty a bare port, and Jetty then
 * listens on every interface. infra/local/localaws.py compiles this class once and runs it with
 * DynamoDBLocal.jar on the class path; the arguments are DynamoDB Local's own (-port, -inMemory,
 * -dbPath, -sharedDb, -disableTelemetry ...).
 */

import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDBLocal {
    private static final String LOOPBACK = "127.0.0.1";

    private LoopbackDynamoDBLocal() {}

    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        if (proxy == null) {
            System.err.println("DynamoDB Local did not accept the arguments given");
            System.exit(2);
        }
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            ((ServerConnector) connector).setHost(LOOPBACK);
        }
        try {
            proxy.start();
        } catch (Exception error) {
            Throwable cause = error;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            System.err.println("DynamoDB Local could not start: " + cause);
            System.exit(1);
        }
        proxy.join();
    }
}
