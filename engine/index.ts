/**
 * sluice: a micro-batch stream processing engine with Spark Structured Streaming's semantics.
 *
 * @example
 * import { Session, col, window, count, sum } from 'sluice';
 * const session = new Session();
 * const events = session.read.format('jsonl').load('data/events/');
 * await events.groupBy(window(col('ts'), '5 minutes'), col('user')).agg(count('*').as('n')).show();
 *
 * @module
 */
import '../connectors/index.js';

export { Session, type SessionOptions } from './api/session.js';
export { IncompatibleStateTableError } from './state/operator-metadata.js';
export { DataFrame, GroupedData, KeyValueGroupedDataFrame, type Row } from './api/dataframe.js';
export { Column, SortColumn, type ColumnLike } from './api/column.js';
export {
  abs,
  avg,
  ceil,
  coalesce,
  col,
  column,
  concat,
  count,
  countDistinct,
  currentTimestamp,
  first,
  floor,
  fromCsv,
  fromJson,
  interval,
  last,
  length,
  lit,
  lower,
  max,
  mean,
  min,
  round,
  sessionWindow,
  struct,
  sum,
  timestampMillis,
  toDate,
  toJson,
  unixMillis,
  upper,
  when,
  window,
  windowTime,
  WindowDefinitionError,
  type ParseOptions,
} from './api/functions.js';
export { DataFrameReader, DataStreamReader } from './api/readers.js';
export { DataFrameWriter, DataStreamWriter, type ForeachBatchFunction } from './api/writers.js';
export { RuntimeConf, ConfError, type SessionConf } from './api/conf.js';
export { StreamingQuery, StreamingQueryManager, StreamingQueryException, type StreamingQueryListener } from './exec/streaming-query.js';
export type { StreamingQueryProgress, StreamingQueryStatus, SourceProgress, SinkProgress } from './exec/progress.js';
export { ranBatch } from './exec/progress.js';
export type { BatchQueryMetrics } from './exec/batch-execution.js';
export { ManualClock, SystemClock, type Clock } from './exec/clock.js';
export { CheckpointInUseError, IncompatibleCheckpointError, type Trigger } from './exec/micro-batch-execution.js';
export { decideRestart, type RestartDecision } from './checkpoint/restart-decision.js';
export { CorruptCheckpointError, ConcurrentUpdateError } from './checkpoint/atomic-file.js';
export { TruncatedLogEntryError } from './checkpoint/metadata-log.js';
export { FileWriteError, type FileOperation } from './io/file-write.js';
export { MissingStateError } from './state/state-store.js';
export {
  StateReadError,
  StateCheckpointNotFoundError,
  StateOperatorNotFoundError,
  StateTableNotFoundError,
  StateBatchNotAvailableError,
} from './state/state-reader.js';
export { StateSourceOptionError } from '../connectors/state/index.js';
export { AnalysisError, AmbiguousColumnError } from './logical/resolve-expr.js';
export { parseJoinType, type JoinType } from './logical/join-type.js';
export { UnsupportedJoinError, UnsupportedOperationError, UnsupportedOutputModeError } from './logical/unsupported-operations.js';
export { SinkOptionError } from './io/sink-options.js';
export { EvaluationError } from './kernels/expr-kernel.js';
export { DurationError, parseDuration, formatDuration, type Duration } from './types/duration.js';
export { RepeatedColumnNamesError, SchemaError, schemaOf, type DataType, type Schema, type SchemaSpec, type Field } from './types/data-type.js';
export { RowConversionError, parseTimestamp } from './types/values.js';
export { defaultFormats, FormatRegistry, UnknownFormatError, type FormatProvider } from './io/format-registry.js';
export type { StreamingSink, SinkBatchInfo, OutputMode, SaveMode } from './io/sink.js';
export type { StreamSource, BatchScan, ScanStats, Offset, ReadLimit, SourceContext } from './io/source.js';
export {
  MemoryStream,
  MemorySink,
  ConsoleSink,
  MalformedRecordError,
  ReaderOptionError,
  FileNotFoundError,
  FileStreamSink,
  FileSinkLogError,
  ParquetError,
  CorruptFileError,
} from '../connectors/index.js';
export { optimizeTable, vacuumTable, tableHistory } from '../connectors/lakehouse/delta-maintenance.js';
export type {
  DeltaHistoryEntry,
  DeltaOptimizeOptions,
  DeltaOptimizeResult,
  DeltaVacuumOptions,
  DeltaVacuumResult,
} from '../connectors/lakehouse/delta-table.js';
export { lineChart, barChart, timelineChart, svgImg, svgDataUri } from './viz/svg-chart.js';
export { parsePipelineSpec, parsePipelineSpecText, pipelineSpecSchema, type PipelineSpec, type SourceSpec, type SinkSpec, type StepSpec, type AggregationSpec, type GroupBySpec, type GroupWindowSpec, type TriggerSpec, type WatermarkSpec, type ValueSpec, type JoinStepSpec, type JoinInputSpec } from './spec/pipeline-spec.js';
export { SpecError, IssueSink, exprFromSpec, exprToSpec, formatPath, type ExprSpec, type SpecIssue, type SpecPath, type TypeSpec, type SchemaJson, type DurationSpec } from './spec/expr-spec.js';
export { dataFrameFromSpec, streamWriterFromSpec, startPipeline, type SpecToPlanOptions, type StartOverrides } from './spec/spec-to-plan.js';
export { specFromPlan, type SpecExtras } from './spec/plan-to-spec.js';
export {
  StatefulProcessor,
  type StatefulProcessorClass,
  type StatefulProcessorHandle,
  type ValueState,
  type ListState,
  type MapState,
  type TimerValues,
  type ExpiredTimerInfo,
  type QueryInfo,
  type TimeMode,
  type StateType,
  type StateOptions,
  type OutputRows,
  type ProcessorModuleRef,
  type TransformWithStateOptions,
} from './api/stateful-processor.js';
export {
  ProcessorNotLoadableError,
  TransformWithStateUserError,
  TransformWithStateOutputError,
  StateVariableOptionError,
  InvalidHandleStateError,
  InvalidTimeModeError,
  StateValueError,
  StateVariableKindChangedError,
} from './physical/partitions/transform-with-state-partition.js';
export { TwsTester, type TwsTesterOptions } from './testing/tws-tester.js';
